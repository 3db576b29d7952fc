from rest_framework.views import APIView

EvaluationListCreateApi = EvaluationDetailApi = EvaluationCancelApi = EvaluationItemListApi = APIView
