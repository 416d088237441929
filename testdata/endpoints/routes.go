package main

func routes(r *gin.Engine, mux *http.ServeMux) {
	r.GET("/articles/:slug", ArticleRetrieve)
	mux.HandleFunc("DELETE /sessions/{id}", deleteSession)
}
