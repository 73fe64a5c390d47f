"""The dashboard in headless Chromium against the local stack (demo data)."""

from __future__ import annotations

import json
import time
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from tests.e2e.conftest import XSS, screenshot

pytestmark = pytest.mark.e2e
PAGES = {"overview": "/", "cfo": "/dashboard/cfo", "coo": "/dashboard/coo", "infrastructure": "/dashboard/infrastructure"}


def wait_ready(page, timeout=15000):
    try:
        page.wait_for_selector("#status[data-state='ready'], #status[data-state='empty']", timeout=timeout,
                               state="attached")
    except Exception as e:
        raise AssertionError(f"page not ready: status={page.text_content('#status')!r} "
                             f"console={page.console_errors}") from e


def api_summary(stack, params):
    k = stack["keys"]["read"]
    r = requests.get(f"{stack['url']}/v1/costs/summary", params=params, timeout=30,
                     headers={"X-CloudTally-Key-Id": k["id"], "X-CloudTally-Key-Secret": k["secret"]})
    assert r.status_code == 200, r.text
    return r.json()


def usd(amount: str) -> str:
    q = Decimal(amount).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"${q:,.2f}" if q >= 0 else f"-${-q:,.2f}"


@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_loads_demo_data_without_console_errors(page, dashboard, demo_stack, name):
    api_calls = []
    page.on("request", lambda r: r.url.startswith(demo_stack["url"]) and r.method != "OPTIONS" and api_calls.append(r.url))
    t0 = time.perf_counter()
    page.goto(dashboard["url"] + PAGES[name])
    wait_ready(page)
    usable_ms = (time.perf_counter() - t0) * 1000
    assert page.get_attribute("#status", "data-state") == "ready"
    assert page.text_content("#total-spend .kpi-value").startswith("$")
    assert page.locator("#content section").count() >= 3
    assert page.locator(f"nav.pages a[data-view='{name}']").get_attribute("aria-current") == "page"
    screenshot(page, name)
    assert page.console_errors == []
    assert len(api_calls) <= 3, api_calls
    in_page = page.evaluate("() => Math.round(performance.getEntriesByName('cloudtally-usable')[0].startTime)")
    print(f"{name}: usable {in_page} ms after navigation start (in-page mark), {usable_ms:.0f} ms as seen by the "
          f"test driver, with {len(api_calls)} API call(s)")


def test_total_equals_the_api_summary_to_the_cent(page, dashboard, demo_stack):
    page.goto(dashboard["url"] + "/?provider=AWS")
    wait_ready(page)
    q = parse_qs(urlsplit(page.url).query)
    assert q["provider"] == ["AWS"] and q["from"] and q["to"]  # the URL holds the whole selection
    s = api_summary(demo_stack, {"from": q["from"][0], "to": q["to"][0], "provider": "AWS", "granularity": "total"})
    expected = s["totals"]["USD"]["EffectiveCost"]
    value = page.locator("#total-spend .kpi-value")
    assert value.get_attribute("data-amount") == expected
    assert value.text_content() == usd(expected)
    # and the CFO page shows the same total for the same link
    page.goto(dashboard["url"] + "/dashboard/cfo?" + urlencode({"from": q["from"][0], "to": q["to"][0], "provider": "AWS"}))
    wait_ready(page)
    assert page.locator("#total-spend .kpi-value").text_content() == usd(expected)


def test_changing_a_filter_changes_the_charts_and_the_url(page, dashboard):
    page.goto(dashboard["url"] + "/")
    wait_ready(page)
    legend_before = page.locator("#chart-trend thead th").all_text_contents()
    services_before = page.locator("#chart-services tbody th").all_text_contents()
    assert {"AWS", "Google Cloud", "Microsoft"} <= set(legend_before)
    page.select_option("#f-provider", "Microsoft")
    page.wait_for_url("**provider=Microsoft**")
    wait_ready(page)
    page.wait_for_function("() => document.querySelectorAll('#chart-trend thead th').length === 2")
    assert page.locator("#chart-trend thead th").all_text_contents() == ["Date", "Microsoft"]
    services_after = page.locator("#chart-services tbody th").all_text_contents()
    assert services_after != services_before
    assert set(services_after) <= {"Virtual Machines", "Azure SQL Database", "Storage"}
    # a 7-day range: fewer points, and the URL says so
    points = page.get_attribute("#chart-trend", "data-points")
    page.click("button.preset[data-days='7']")
    page.wait_for_function(f"() => +document.querySelector('#chart-trend').dataset.points < {points}")
    assert int(page.get_attribute("#chart-trend", "data-points")) <= 7
    q = parse_qs(urlsplit(page.url).query)
    assert q["provider"] == ["Microsoft"]
    assert (date.fromisoformat(q["to"][0]) - date.fromisoformat(q["from"][0])).days == 7
    # the back button restores the previous view without a reload
    page.evaluate("window.__same_document = 1")
    page.go_back()
    page.wait_for_function(f"() => document.querySelector('#chart-trend').dataset.points === '{points}'")
    assert page.evaluate("window.__same_document") == 1
    assert page.console_errors == []


def test_a_tag_value_with_markup_shows_as_text_and_runs_nothing(page, dashboard):
    page.goto(dashboard["url"] + "/?" + urlencode({"tag": f"team={XSS}"}))
    wait_ready(page)
    rows = page.locator("#resources-table tbody tr")
    assert rows.count() == 1
    assert XSS in rows.first.text_content()              # the resource name and the tag, as text
    assert page.locator("#f-tag option:checked").text_content() == f"team: {XSS}"
    assert page.locator("#total-spend .kpi-value").text_content() == "$12.34"
    assert page.evaluate("document.querySelectorAll('img').length") == 0
    assert page.dialogs == []
    assert page.console_errors == []


def test_inline_script_is_forbidden_by_the_csp(page, dashboard):
    resp = page.goto(dashboard["url"] + "/dashboard/coo")
    csp = resp.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    meta = page.get_attribute("meta[http-equiv='Content-Security-Policy']", "content")
    assert "script-src 'self'" in meta and "unsafe" not in meta
    wait_ready(page)
    page.evaluate("""() => { const s = document.createElement('script');
                             s.textContent = 'window.__inline_ran = 1'; document.body.append(s); }""")
    page.wait_for_timeout(100)
    assert page.evaluate("window.__inline_ran") is None
    assert any("Content Security Policy" in e for e in page.console_errors)


def test_a_wrong_key_shows_the_key_prompt_and_a_good_key_fixes_it(page, dashboard, demo_stack):
    page.add_init_script("localStorage.setItem('cloudtally.readKey', JSON.stringify({id: 'wrong', secret: 'wrong'}))")
    page.goto(dashboard["url"] + "/dashboard/cfo")
    page.wait_for_selector("#status[data-state='auth']")
    assert page.locator("#key-dialog").is_visible()
    assert "refused" in page.text_content("#key-dialog .key-reason")
    assert page.locator("#content section").count() == 0
    good = demo_stack["keys"]["read"]
    page.fill("#key-id", good["id"])
    page.fill("#key-secret", good["secret"])
    page.click("#key-save")
    wait_ready(page)
    assert not page.locator("#key-dialog").is_visible()
    assert json.loads(page.evaluate("localStorage.getItem('cloudtally.readKey')"))["id"] == good["id"]


def test_the_saved_key_is_removable(page, dashboard):
    page.add_init_script("if (!sessionStorage.getItem('seeded')) { sessionStorage.setItem('seeded', '1');"
                         " localStorage.setItem('cloudtally.readKey', JSON.stringify({id: 'old', secret: 'old'})); }")
    page.goto(dashboard["url"] + "/")
    page.wait_for_selector("#status[data-state='auth']")
    page.click("#key-forget")
    wait_ready(page)  # back on the demo key from config.json
    assert page.evaluate("localStorage.getItem('cloudtally.readKey')") is None


def test_auto_refresh_updates_without_reload(page, dashboard, demo_stack):
    page.goto(dashboard["url"] + "/?" + urlencode({"tag": "team=refresh-test"}))
    wait_ready(page)
    assert page.get_attribute("#status", "data-state") == "ready" or page.locator("#content").count() == 1
    page.evaluate("window.__same_document = 1")
    day = demo_stack["today"]
    rec = {"ProviderName": "AWS", "BillingAccountId": "123456789012", "ServiceName": "AWS Lambda",
           "ChargePeriodStart": f"{day}T00:00:00Z", "ChargePeriodEnd": f"{day}T01:00:00Z", "BilledCost": "7.5",
           "BillingCurrency": "USD", "ResourceId": "fn-refresh", "Tags": {"team": "refresh-test"}}
    k = demo_stack["keys"]["ingest"]
    r = requests.post(f"{demo_stack['url']}/v1/records", json=[rec], timeout=30,
                      headers={"X-CloudTally-Key-Id": k["id"], "X-CloudTally-Key-Secret": k["secret"]})
    assert r.status_code == 200
    page.wait_for_function("() => document.querySelector('#total-spend .kpi-value')?.dataset.amount === '7.5'",
                           timeout=15000)
    assert page.evaluate("window.__same_document") == 1


def test_keyboard_reaches_skip_link_pages_and_filters(page, dashboard):
    page.goto(dashboard["url"] + "/")
    wait_ready(page)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "CFO"
    page.keyboard.press("Enter")
    page.wait_for_url("**/dashboard/cfo?**")
    wait_ready(page)
    page.focus("#f-provider")
    page.keyboard.press("ArrowDown")  # a native select: the keyboard changes the filter
    page.wait_for_url("**provider=**")
    wait_ready(page)
    page.locator("#chart-teams summary").focus()
    page.keyboard.press("Enter")      # the chart's data table opens from the keyboard
    assert page.locator("#chart-teams details").get_attribute("open") is not None


def test_cfo_on_the_first_of_a_month_shows_today_so_far_and_no_fake_fall(page, dashboard, demo_stack):
    """The 1st at 09:30 (the pinned clock): month to date is today's provisional cost so far, labelled;
    month over month is "n/a" with its reason, never -100 %."""
    today = demo_stack["today"].isoformat()
    page.goto(dashboard["url"] + "/dashboard/cfo")
    wait_ready(page)
    q = parse_qs(urlsplit(page.url).query)
    assert (q["from"], q["to"]) == (["2026-11-02"], ["2026-12-02"])   # the API's default range, by its clock
    so_far = api_summary(demo_stack, {"from": today, "to": "2026-12-02", "granularity": "total"})
    expected = so_far["totals"]["USD"]["EffectiveCost"]
    mtd = page.locator("#mtd .kpi-value")
    assert mtd.get_attribute("data-amount") == expected and Decimal(expected) > 0
    assert page.text_content("#mtd .kpi-label") == "Month to date (2026-12)"
    assert page.text_content("#mtd .kpi-note") == (f"as of {today}; includes {usd(expected)} so far today "
                                                   f"({today}, provisional: the day is still open)")
    mom = page.text_content("#mom .kpi-value")
    assert mom == "n/a — no closed day in 2026-12 yet: today (2026-12-01) is still open"
    assert "%" not in mom
    rows = {r.locator("td").nth(0).text_content(): r.locator("td").nth(2).text_content()
            for r in page.locator("#months-table tbody tr").all()}
    assert rows["2026-12 (to date)"] == mom
    assert rows["2026-11"].endswith(" %") and not rows["2026-11"].startswith("-100")
    assert page.get_attribute("#chart-months", "data-partial") == "2026-12"
    assert page.console_errors == []


def test_coo_marks_todays_partial_day_in_the_cost_per_service_chart(page, dashboard, demo_stack):
    today = demo_stack["today"].isoformat()
    page.goto(dashboard["url"] + "/dashboard/coo")
    wait_ready(page)
    fig = page.locator("#chart-service-trend")
    assert fig.get_attribute("data-partial") == today
    labels = fig.locator("tbody th").all_text_contents()
    assert labels[-1] == f"{today} (partial)" and all("(partial)" not in x for x in labels[:-1])
    assert "Dashed: 2026-12-01 is still open" in page.text_content("#service-trend-partial")
    assert page.console_errors == []


def test_alerts_sent_show_when_claimed_and_when_sns_acknowledged(page, dashboard, demo_stack):
    page.goto(dashboard["url"] + "/dashboard/coo")
    wait_ready(page)
    rows = page.locator("#alerts-table tbody tr")
    heads = page.locator("#alerts-table thead th").all_text_contents()
    assert heads == ["Alert", "Budget", "Threshold", "Status", "Claimed", "Sent (SNS acknowledged)"]
    got = {}
    for r in rows.all():
        cells = r.locator("td").all_text_contents()
        got[(cells[1], cells[2])] = (cells[3], cells[4], cells[5])
    at = "2026-12-01 09:30:00 UTC (0 s ago)"    # the evaluator ran at the pinned clock; the page is at it too
    assert got == {
        ("AWS (e2e)", "actual 1 %"): ("sent", at, at),
        ("AWS (e2e)", "forecast 100 %"): ("sent", at, at),
        ("Company (e2e)", "actual 1 %"): ("pending", at, "not yet: SNS has not acknowledged it; the next evaluation retries"),
    }
    assert "never" not in page.text_content("#alerts-table")
    assert page.console_errors == []


def test_infrastructure_lists_hosts_from_heartbeats_with_status_facts_and_cost(page, dashboard, demo_stack):
    page.goto(dashboard["url"] + PAGES["infrastructure"])
    wait_ready(page)
    heads = page.locator("#hosts-table thead th").all_text_contents()
    assert heads == ["Host", "Status", "Last heartbeat", "CPU", "Memory", "Disk", "GPU", "Where", "Agent", "Cost"]
    rows = {}
    for r in page.locator("#hosts-table tbody tr").all():
        cells = r.locator("td").all_text_contents()
        rows[cells[0]] = dict(zip(heads, cells))
    # the demo's heartbeats are 10 s, 20 s, 45 s, 10 min and 2 days before the API's (pinned) clock
    assert {h: r["Status"] for h, r in rows.items()} == {"gpu-node-1": "online", "web-1": "online", "web-2": "online",
                                                         "db-1": "stale", "build-old": "offline"}
    assert list(rows) == ["gpu-node-1", "web-1", "web-2", "db-1", "build-old"]      # online first
    assert rows["web-1"]["Last heartbeat"] == "20 s ago" and rows["db-1"]["Last heartbeat"] == "10 min ago"
    assert rows["web-1"]["CPU"] == "42.5 %" and rows["web-1"]["Memory"] == "65.6 % of 32 GiB"
    assert rows["gpu-node-1"]["GPU"] == "2 × NVIDIA A100-SXM4-80GB, 90.5 %" and rows["web-1"]["GPU"] == "none"
    assert rows["web-1"]["Where"] == "aws m5.2xlarge us-east-1"
    assert rows["web-2"]["Where"] == "aws m5.2xlarge us-east-1; container: containerd cloudtally-agent-x7k2p"
    assert rows["db-1"]["Where"] == "VM (vmware)" and rows["gpu-node-1"]["Where"] == "on-premises / bare metal"
    # cost where a record names the host: web-1 and web-2 are the demo estate's EC2 instances i-0a1b2c3d-00 / -01
    q = parse_qs(urlsplit(page.url).query)
    k = demo_stack["keys"]["read"]
    top = requests.get(f"{demo_stack['url']}/v1/costs/top-resources", timeout=30,
                       params={"from": q["from"][0], "to": q["to"][0], "limit": 1000},
                       headers={"X-CloudTally-Key-Id": k["id"], "X-CloudTally-Key-Secret": k["secret"]}).json()
    cost = {r["ResourceId"]: r["EffectiveCost"] for r in top["resources"]}
    assert rows["web-1"]["Cost"] == usd(cost["i-0a1b2c3d-00"]) and rows["web-2"]["Cost"] == usd(cost["i-0a1b2c3d-01"])
    assert rows["gpu-node-1"]["Cost"] == "—"
    assert page.text_content("#hosts-online .kpi-value") == "3 / 5"
    assert page.console_errors == []
