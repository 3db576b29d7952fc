from rest_framework.views import APIView

LeaderboardApi = LeaderboardCsvApi = BenchmarkListApi = BenchmarkDetailApi = SuiteListApi = APIView
