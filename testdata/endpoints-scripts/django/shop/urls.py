from django.urls import path, re_path

from . import views

urlpatterns = [
    path("products/", views.product_list, name="product-list"),
    re_path(r"^products/(?P<pk>[0-9]+)/$", views.ProductDetail.as_view()),
]
