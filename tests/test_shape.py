"""``Shape`` reads an untrusted JSON object field by field and words each problem as its
caller's ``Rules`` say, raising the caller's own exception."""

import pytest

from textpeak.lib.shape import Rules, Shape, body


class Wrong(Exception):
    pass


RULES = Rules(error=Wrong)
# Worded the way Meta's webhooks are read: the place first, then the problem.
PLACED = Rules(
    error=Wrong,
    problem="{where}: {problem}",
    required='{where}: "{key}" is required.',
    not_object="{where}.{key}: must be an object.",
)


def shape(data: dict, rules: Rules = RULES, where: str = "item") -> Shape:
    return Shape(data, rules, where)


def test_it_reads_a_text():
    assert shape({"name": "Anna"}).string("name") == "Anna"


def test_an_absent_text_is_empty():
    assert shape({}).string("name") == ""


def test_a_blank_text_counts_as_absent():
    with pytest.raises(Wrong, match=r"^name is required\.$"):
        shape({"name": ""}).string("name", required=True)


def test_a_blank_text_is_a_text_where_only_null_is_absent():
    rules = Rules(error=Wrong, absent=(None,))
    assert shape({"name": ""}, rules).string("name", required=True) == ""


def test_a_missing_required_text_is_worded_by_the_rules():
    with pytest.raises(Wrong, match=r'^item: "name" is required\.$'):
        shape({}, PLACED).string("name", required=True)


def test_it_refuses_a_number_for_a_text():
    with pytest.raises(Wrong, match=r"^name must be a string\.$"):
        shape({"name": 12}).string("name")


def test_it_refuses_a_text_longer_than_its_limit():
    with pytest.raises(Wrong, match=r"^name is longer than 3 characters\.$"):
        shape({"name": "Anna"}).string("name", max_length=3)


def test_a_text_of_exactly_its_limit_passes():
    assert shape({"name": "Ann"}).string("name", max_length=3) == "Ann"


def test_numbers_as_text_reads_a_whole_number_as_its_digits():
    rules = Rules(error=Wrong, numbers_as_text=True)
    assert shape({"id": 102000000000001}, rules).string("id") == "102000000000001"


def test_numbers_as_text_still_refuses_a_boolean():
    rules = Rules(error=Wrong, numbers_as_text=True)
    with pytest.raises(Wrong, match=r"^id must be a string\.$"):
        shape({"id": True}, rules).string("id")


def test_unicode_checked_refuses_a_lone_surrogate():
    rules = Rules(error=Wrong, unicode_checked=True)
    with pytest.raises(Wrong, match=r"^name is not valid Unicode\.$"):
        shape({"name": "\ud800"}, rules).string("name")


def test_a_lone_surrogate_passes_unless_unicode_is_checked():
    assert shape({"name": "\ud800"}).string("name") == "\ud800"


def test_it_reads_a_nested_object_at_its_key():
    nested = shape({"text": {"body": "Hi"}}).object("text")
    assert (nested.data, nested.where) == ({"body": "Hi"}, "text")


def test_nest_names_the_place_of_a_nested_object():
    rules = Rules(error=Wrong, nest=lambda where, key: f"{where}['{key}']")
    assert shape({"text": {}}, rules, where="message").object("text").where == "message['text']"


def test_an_absent_object_is_empty():
    assert shape({}).object("text").data == {}


def test_a_blank_text_is_not_an_absent_object():
    with pytest.raises(Wrong, match=r"^item\.text: must be an object\.$"):
        shape({"text": ""}, PLACED).object("text")


def test_a_missing_required_object_has_its_own_wording_when_given():
    rules = Rules(error=Wrong, object_required="{key} must be an object.")
    with pytest.raises(Wrong, match=r"^text must be an object\.$"):
        shape({}, rules).object("text", required=True)


def test_a_missing_required_object_is_worded_as_required_by_default():
    with pytest.raises(Wrong, match=r"^text is required\.$"):
        shape({}).object("text", required=True)


def test_it_refuses_an_array_for_an_object():
    with pytest.raises(Wrong, match=r"^text must be an object\.$"):
        shape({"text": []}).object("text")


def test_it_reads_an_array_as_it_is():
    assert shape({"tags": ["a", 1]}).list("tags") == ["a", 1]


def test_an_absent_array_is_empty():
    assert shape({}).list("tags") == []


def test_it_refuses_an_object_for_an_array():
    with pytest.raises(Wrong, match=r"^tags must be an array\.$"):
        shape({"tags": {}}).list("tags")


def test_a_missing_required_array_is_worded_as_required():
    with pytest.raises(Wrong, match=r"^tags is required\.$"):
        shape({}).list("tags", required=True)


def test_each_object_of_an_array_is_at_the_place_given():
    items = shape({"changes": [{"field": "a"}, {}]}).objects("changes", each="change")
    assert [(item.data, item.where) for item in items] == [
        ({"field": "a"}, "change"),
        ({}, "change"),
    ]


def test_each_object_of_an_array_is_at_its_index_by_default():
    items = shape({"contacts": [{}, {}]}).objects("contacts")
    assert [item.where for item in items] == ["contacts[0]", "contacts[1]"]


def test_an_absent_array_of_objects_has_none():
    assert list(shape({}).objects("contacts")) == []


def test_an_item_that_is_not_an_object_is_refused():
    with pytest.raises(Wrong, match=r"^contacts\[\] must be an object\.$"):
        list(shape({"contacts": [{}, "x"]}).objects("contacts"))


def test_an_array_of_objects_that_is_not_an_array_is_refused_at_once():
    rules = Rules(error=Wrong, not_objects="no list of objects in {key!r}")
    with pytest.raises(Wrong, match=r"^no list of objects in 'data'$"):
        shape({"data": "x"}, rules).objects("data")


def test_an_array_of_objects_is_worded_as_an_array_by_default():
    with pytest.raises(Wrong, match=r"^data must be an array\.$"):
        shape({"data": "x"}).objects("data")


def test_each_item_is_checked_only_when_reached():
    first = next(shape({"messages": [{"id": ""}, "x"]}).objects("messages"))
    with pytest.raises(Wrong, match=r"^id is required\.$"):
        first.string("id", required=True)


def test_it_reads_a_number():
    assert shape({"latitude": 52.5}).number("latitude") == 52.5


def test_an_absent_number_is_none():
    assert shape({}).number("latitude") is None


def test_a_blank_text_is_not_an_absent_number():
    with pytest.raises(Wrong, match=r"^latitude must be a number\.$"):
        shape({"latitude": ""}, Rules(error=Wrong, numbers_as_text=True)).number("latitude")


def test_it_refuses_a_boolean_for_a_number():
    with pytest.raises(Wrong, match=r"^latitude must be a number\.$"):
        shape({"latitude": True}).number("latitude")


def test_it_refuses_a_text_for_a_number():
    with pytest.raises(Wrong, match=r"^latitude must be a number\.$"):
        shape({"latitude": "52.5"}).number("latitude")


def test_numbers_as_text_reads_a_text_as_a_number():
    rules = Rules(error=Wrong, numbers_as_text=True)
    assert shape({"latitude": "52.5"}, rules).number("latitude") == 52.5


def test_numbers_as_text_refuses_a_text_that_is_no_number():
    rules = Rules(error=Wrong, numbers_as_text=True)
    with pytest.raises(Wrong, match=r"^latitude must be a number\.$"):
        shape({"latitude": "north"}, rules).number("latitude")


def test_numbers_as_text_refuses_an_infinite_text():
    rules = Rules(error=Wrong, numbers_as_text=True)
    with pytest.raises(Wrong, match=r"^latitude must be a number\.$"):
        shape({"latitude": "inf"}, rules).number("latitude")


def test_it_refuses_a_whole_number_too_large_for_a_float():
    with pytest.raises(Wrong, match=r"^latitude must be a number\.$"):
        shape({"latitude": 10**400}).number("latitude")


def test_it_refuses_a_number_out_of_range_worded_with_the_range():
    rules = Rules(error=Wrong, not_number="{where}.{key} must be from {low:g} to {high:g}.")
    with pytest.raises(Wrong, match=r"^location\.latitude must be from -90 to 90\.$"):
        shape({"latitude": 90.5}, rules, where="location").number("latitude", low=-90, high=90)


def test_a_number_at_the_end_of_its_range_passes():
    assert shape({"latitude": -90}).number("latitude", low=-90, high=90) == -90


def test_a_missing_required_number_has_its_own_wording_when_given():
    rules = Rules(error=Wrong, number_required="{key} must be from {low:g} to {high:g}.")
    with pytest.raises(Wrong, match=r"^latitude must be from -90 to 90\.$"):
        shape({}, rules).number("latitude", required=True, low=-90, high=90)


def test_it_reads_any_value():
    assert shape({"language": {"code": "en"}}).value("language") == {"code": "en"}


def test_an_absent_value_is_none():
    assert shape({"language": ""}).value("language") is None


def test_the_rules_say_which_values_are_absent():
    rules = Rules(error=Wrong, absent=(None, "", {}, []))
    with pytest.raises(Wrong, match=r"^language is required\.$"):
        shape({"language": {}}, rules).value("language", required=True)


def test_a_problem_the_caller_found_is_worded_by_the_rules():
    error = shape({}, PLACED, where="message").error('has neither "from" nor a user id.')
    assert str(error) == 'message: has neither "from" nor a user id.'


def test_the_error_is_the_callers_own():
    rules = Rules(error=lambda message: ValueError(f"refused: {message}"))
    with pytest.raises(ValueError, match=r"^refused: name is required\.$"):
        shape({}, rules).string("name", required=True)


def test_a_body_is_read_at_the_body():
    read = body(b'{"messages": []}', RULES)
    assert (read.data, read.where) == ({"messages": []}, "the body")


def test_a_body_that_is_not_json_is_refused():
    with pytest.raises(Wrong, match=r"^The body is not valid JSON: Expecting value: .*\.$"):
        body(b"nope", RULES)


def test_a_body_with_nan_is_refused():
    with pytest.raises(Wrong, match=r"^The body is not valid JSON: NaN is not a number"):
        body(b'{"latitude": NaN}', RULES)


def test_a_body_that_is_not_an_object_is_refused():
    with pytest.raises(Wrong, match=r"^The body must be a JSON object\.$"):
        body(b"[]", RULES)


def test_at_reads_the_same_object_at_another_place():
    with pytest.raises(Wrong, match=r'^update: "event" is required\.$'):
        shape({}, PLACED, where="value").at("update").string("event", required=True)


def test_within_reads_a_text_of_a_nested_object():
    assert shape({"context": {"id": "wamid.1"}}).string("id", within="context") == "wamid.1"


def test_within_an_absent_object_a_text_is_empty():
    assert shape({}).string("id", within="context") == ""


def test_within_words_a_problem_at_the_nested_object():
    message = shape({"context": {}}, PLACED, where="message")
    with pytest.raises(Wrong, match=r'^context: "id" is required\.$'):
        message.string("id", within="context", required=True)


def test_within_refuses_a_nested_value_that_is_not_an_object():
    with pytest.raises(Wrong, match=r"^message\.context: must be an object\.$"):
        shape({"context": "x"}, PLACED, where="message").string("id", within="context")


def test_object_data_is_the_nested_object_as_it_is():
    assert shape({"pricing": {"billable": True}}).object_data("pricing") == {"billable": True}


def test_object_data_of_an_absent_object_is_empty():
    assert shape({}).object_data("pricing") == {}


def test_a_missing_required_array_of_objects_has_its_own_wording_when_given():
    rules = Rules(error=Wrong, objects_required="no list of objects in {key!r}")
    with pytest.raises(Wrong, match=r"^no list of objects in 'data'$"):
        shape({}, rules).objects("data", required=True)
