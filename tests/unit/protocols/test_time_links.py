"""Time links between a protocol's steps: declared in @protocol_function, read by the analysis."""

from __future__ import annotations

import pytest

from browser_runtime.protocols import (
    SCHEMA_VERSION,
    ProtocolFile,
    TimeLink,
    analyze_source,
    get_protocol_metadata,
    protocol_function,
)

SOURCE = '''
import asyncio
from pylabrobot.heating_shaking import HeaterShaker
from pylabrobot.plate_reading import PlateReader
from browser_runtime.protocols import TimeLink, protocol_function


@protocol_function(
    name="Incubate and read",
    time_links=[
        TimeLink("hs.stop_shaking", "reader.read_absorbance", max_s=5 * 60,
                 description="read within 5 min after the incubation ends"),
        TimeLink(after="reader.read_absorbance", before="reader.read_absorbance", min_s=1800),
    ],
)
async def incubate_and_read(hs: HeaterShaker, reader: PlateReader, plates: int = 2):
    for _ in range(plates):
        await hs.shake(speed=800)
        await asyncio.sleep(600)
        await hs.stop_shaking()
        await reader.read_absorbance(wavelength=450)
'''


def test_the_decorator_records_time_links():
    link = TimeLink("hs.stop_shaking", "reader.read_absorbance", max_s=300)

    @protocol_function(time_links=[link])
    async def protocol(hs, reader):
        return None

    assert get_protocol_metadata(protocol).time_links == (link,)
    assert link.label == "reader.read_absorbance within 300 s after hs.stop_shaking"


@pytest.mark.parametrize(("arguments", "message"), [
    ({"after": "hs", "before": "reader.read_absorbance", "max_s": 5}, "after must name a machine call"),
    ({"after": "hs.shake", "before": "reader.read", "min_s": -1}, "min_s must be a number of seconds"),
    ({"after": "hs.shake", "before": "reader.read", "min_s": 60, "max_s": 30}, "max_s 30 is below min_s 60"),
    ({"after": "hs.shake", "before": "reader.read"}, "needs min_s above 0 or a max_s"),
])
def test_bad_time_links_are_named(arguments, message):
    with pytest.raises(ValueError, match=message):
        TimeLink(**arguments)


def test_a_link_to_a_parameter_the_function_lacks_is_refused_at_import():
    with pytest.raises(ValueError, match=r"time_links\[0\]\.before 'lid\.open' names no parameter"):
        @protocol_function(time_links=[TimeLink("hs.shake", "lid.open", max_s=5)])
        async def protocol(hs):
            return None


def test_the_analysis_shows_the_links_with_their_lines(catalog):
    analysis = analyze_source(SOURCE, "incubate.py", catalog)
    assert analysis.errors == []
    first, second = analysis.protocols[0].time_links
    assert (first.after, first.before, first.min_s, first.max_s) == (
        "hs.stop_shaking", "reader.read_absorbance", 0.0, 300.0)  # 5 * 60 read as a literal
    assert first.description == "read within 5 min after the incubation ends" and first.line == 11
    assert (second.min_s, second.max_s, second.line) == (1800.0, None, 13)
    document = analysis.to_dict()
    assert document["schema_version"] == SCHEMA_VERSION == "1.3"
    assert document["protocols"][0]["time_links"][0]["max_s"] == 300.0
    assert ProtocolFile.from_dict(document).protocols[0].time_links == [first, second]


def test_the_analysis_says_where_a_link_names_a_call_the_protocol_never_makes(catalog):
    source = SOURCE.replace('TimeLink(after="reader.read_absorbance"', 'TimeLink(after="reader.read_fluorescence"')
    analysis = analyze_source(source, "incubate.py", catalog)
    assert [(e.line, e.message) for e in analysis.errors] == [(13, (
        "incubate.py: protocol incubate_and_read: time_links[1].after 'reader.read_fluorescence': "
        "the protocol never calls reader.read_fluorescence (it calls read_absorbance on reader)"))]
    assert [link.line for link in analysis.protocols[0].time_links] == [11]  # the good one stays
    computed = analyze_source(SOURCE.replace("5 * 60", "five_minutes"), "incubate.py", catalog)
    assert [(e.line, e.message) for e in computed.errors] == [(11, (
        "incubate.py: protocol incubate_and_read: time_links must be a literal to be read statically, "
        "got five_minutes"))]


def test_a_link_between_a_machine_and_a_value_parameter_is_refused(catalog):
    source = SOURCE.replace('before="reader.read_absorbance", min_s=1800', 'before="plates.bit_length", min_s=1')
    errors = analyze_source(source, "incubate.py", catalog).errors
    assert any("'plates' is not a machine parameter" in e.message for e in errors)
