from django.urls import path

from registry import views

app_name = "registry"
urlpatterns = [
    path("models/", views.model_list, name="model-list"),
    path("models/<str:org>/<str:name>/", views.model_detail, name="model-detail"),
    path("syncs/", views.sync_list, name="sync-list"),
]
