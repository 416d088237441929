from django.urls import include, path, re_path
from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register(r"orders", views.OrderViewSet)

urlpatterns = [
    path("products/", views.product_list, name="product-list"),
    re_path(r"^products/(?P<pk>[0-9]+)/$", views.ProductDetail.as_view()),
    path("api/", include(router.urls)),
]
