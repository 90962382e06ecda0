"""The shared plumbing of every API view: bearer headers, query parameters and bodies."""

import pytest
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from portal.api.auth import bearer_token
from portal.api.base import NexApiView, validated


@pytest.mark.parametrize("header, token", [
    ("Bearer abc.def", "abc.def"), ("bearer abc", "abc"), ("BEARER  abc  ", "abc"),
    ("", None), ("Bearer", None), ("Bearer   ", None), ("Basic abc", None), ("abc", None), ("Token abc", None),
])
def test_one_reading_of_the_bearer_header(header, token):
    request = APIRequestFactory().get("/", HTTP_AUTHORIZATION=header)

    assert bearer_token(request) == token


class Params(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(), required=False)
    subdomain = serializers.CharField(required=False)


def query(path: str) -> dict:
    view = NexApiView()
    view.request = Request(APIRequestFactory().get(path))
    return dict(view.query(Params))


def test_bracketed_query_parameters_arrive_as_a_list_without_the_brackets():
    assert query("/?ids[]=1&ids[]=2&subdomain=acme") == {"ids": [1, 2], "subdomain": "acme"}


def test_the_bracketed_list_wins_over_a_plain_parameter_of_the_same_name():
    assert query("/?ids=9&ids[]=1") == {"ids": [1]}
    assert query("/?ids[]=1&ids=9") == {"ids": [1]}


def test_a_repeated_plain_parameter_keeps_its_last_value():
    assert query("/?subdomain=a&subdomain=b") == {"subdomain": "b"}


def test_a_body_that_does_not_validate_is_a_400():
    with pytest.raises(ValidationError):
        validated(Params, {"ids": ["x"]})
