from django.http import HttpRequest, HttpResponse


def _todo(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise NotImplementedError


leaderboard = compare = benchmark_list = benchmark_detail = _todo
