from rest_framework.views import APIView

SyncRunListCreateApi = APIView
