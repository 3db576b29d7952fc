from rest_framework.views import APIView

ModelListApi = ModelDetailApi = APIView
