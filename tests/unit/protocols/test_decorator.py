"""@protocol_function and DataViewDefinition: metadata attached, function unchanged, bad values named."""

from __future__ import annotations

import pytest

from browser_runtime.protocols import DataViewDefinition, get_protocol_metadata, protocol_function


def test_bare_decorator_keeps_the_function_callable():
    def dilute(volume: float = 10.0) -> float:
        """Halve a volume."""
        return volume / 2

    decorated = protocol_function(dilute)
    assert decorated is dilute
    assert decorated(8.0) == 4.0
    metadata = get_protocol_metadata(decorated)
    assert metadata.name == "dilute"
    assert metadata.version == "0.1.0"
    assert metadata.description == "Halve a volume."


def test_called_decorator_records_every_field(run_async):
    view = DataViewDefinition("od", description="OD600", source_type="plr_state",
                              source_filter="plate_reader", schema={"type": "array"}, required=True)

    @protocol_function(name="Grow", version="1.2.3", description="Grow cells", data_views=[view],
                       deck_layout_path="deck.json", tags=["growth"], category="culture",
                       param_metadata={"hours": {"description": "how long", "ui_hint": "number",
                                                 "constraints": {"min": 1}}})
    async def grow(hours: int = 2) -> int:
        return hours * 60

    assert run_async(grow(3)) == 180
    metadata = get_protocol_metadata(grow)
    assert (metadata.name, metadata.version, metadata.category) == ("Grow", "1.2.3", "culture")
    assert metadata.data_views == (view,)
    assert metadata.tags == ("growth",)
    assert metadata.param_metadata["hours"]["constraints"] == {"min": 1}
    assert metadata.deck_layout_path == "deck.json"


def test_undecorated_function_has_no_metadata():
    assert get_protocol_metadata(lambda: None) is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"version": "one"}, "version"),
        ({"name": ""}, "name"),
        ({"tags": "abc"}, "tags"),
        ({"deck_layout_path": 3}, "deck_layout_path"),
        ({"param_metadata": {"volum": {"description": "typo"}}}, "param_metadata['volum']"),
        ({"param_metadata": {"volume": {"hint": "x"}}}, "param_metadata['volume'].hint"),
        ({"param_metadata": {"volume": {"constraints": [1, 2]}}}, "param_metadata['volume'].constraints"),
        ({"data_views": [DataViewDefinition("a"), DataViewDefinition("a")]}, "data_views[1].name"),
        ({"category": 5}, "category"),
    ],
)
def test_bad_metadata_names_the_function_and_field(kwargs, field):
    with pytest.raises(ValueError) as raised:
        @protocol_function(**kwargs)
        def transfer(volume: float = 1.0):
            return volume

    message = str(raised.value)
    assert "transfer" in message
    assert field in message


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"name": ""}, "name"), ({"name": "v", "source_type": "database"}, "source_type"),
     ({"name": "v", "schema": "not a dict"}, "schema"), ({"name": "v", "required": "yes"}, "required")],
)
def test_bad_data_view_names_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        DataViewDefinition(**kwargs)
