from django.http import HttpRequest, HttpResponse


def _todo(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise NotImplementedError


submit = queue = run_detail = run_items = run_cancel = run_retry = _todo
