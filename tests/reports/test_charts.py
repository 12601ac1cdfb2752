"""The report's bar charts (charts.py) as the operator's page draws them: accessible SVG, no bar for a hidden figure."""


def test_the_charts_are_accessible_svg(operator_page):
    charts = operator_page.xpath("//svg")
    assert len(charts) == 5  # one funnel per credential, one for the conversions
    for svg in charts:
        assert svg.get("role") == "img"
        title_id, desc_id = svg.get("aria-labelledby").split()
        assert svg.xpath(f'./title[@id="{title_id}"]')[0].text
        assert svg.xpath(f'./desc[@id="{desc_id}"]')[0].text
        assert svg.getparent().tag == "figure" and svg.getparent().xpath("./figcaption")
    bronze = operator_page.xpath('//section[@data-credential="bronze"]//svg')[0]
    assert bronze.xpath("./title")[0].text == "Uptake of Bronze"
    assert bronze.xpath("./desc")[0].text == "Enrolled: 40; Progressing: 11; Earned: 30; Revoked: 11"
    widths = {g.get("data-figure"): g.xpath('./rect[@class="bar"]/@width') for g in bronze.xpath("./g")}
    assert widths == {"bronze:enrolled": ["340.0"], "bronze:progressing": ["93.5"], "bronze:earned": ["255.0"],
                      "bronze:revoked": ["93.5"]}
    gold = operator_page.xpath('//section[@data-credential="gold"]//svg')[0]
    assert gold.xpath("./desc")[0].text == "Enrolled: 45; Progressing: hidden; Earned: hidden; Revoked: 0"
    bars = {g.get("data-figure"): (g.xpath('./rect[@class="bar"]'), g.xpath("string(./text[2])"))
            for g in gold.xpath("./g")}
    assert bars["gold:progressing"] == ([], "hidden") and bars["gold:earned"] == ([], "hidden")
    assert bars["gold:revoked"] == ([], "0") and bars["gold:enrolled"][1] == "45"
    conversion = operator_page.xpath('//svg[.//g[@data-figure="bronze>silver:rate"]]')[0]
    rates = {g.get("data-figure"): (g.xpath('./rect[@class="bar"]/@width'), g.xpath("string(./text[2])"))
             for g in conversion.xpath("./g")}
    assert rates == {"bronze>silver:rate": (["204.0"], "60.0 %"), "silver>gold:rate": ([], "hidden")}
