from django.http import HttpRequest, HttpResponse


def sync_list(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError
