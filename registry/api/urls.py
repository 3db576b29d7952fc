from django.urls import path

from registry.api import syncs, views

app_name = "registry-api"
urlpatterns = [
    path("models/", views.ModelListApi.as_view(), name="model-list"),
    path("models/<str:org>/<str:name>/", views.ModelDetailApi.as_view(), name="model-detail"),
    path("syncs/", syncs.SyncRunListCreateApi.as_view(), name="sync-list"),
]
