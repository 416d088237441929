package main

import (
	"github.com/gin-gonic/gin"

	"example.com/shop/users"
)

func main() {
	r := gin.Default()
	v1 := r.Group("/api/v1")
	users.Register(v1.Group("/users"))
	r.GET("/ping", ping)
	r.Run()
}
