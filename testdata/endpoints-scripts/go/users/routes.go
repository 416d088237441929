package users

import "github.com/gin-gonic/gin"

func Register(router *gin.RouterGroup) {
	router.GET("/", List)
	router.POST("/:id/follow", Follow)
}
