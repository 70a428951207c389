"""The /imagine/ page in headless Chromium: generate an image with live progress, get a cache hit for a paraphrase
with its matched prompt, reject an empty prompt, delete an image. Skips while the Imagine app is absent."""
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC

from imagine_support import imagine_server  # noqa: F401  (fixture)
from test_console import browser, sign_in, wait  # noqa: F401  (fixtures and helpers)


def figures(browser):
    return browser.find_elements(By.CSS_SELECTOR, "figure.result")


def generate(browser, prompt, steps="3"):
    field = browser.find_element(By.ID, "prompt")
    field.clear()
    field.send_keys(prompt)
    parameters = browser.find_element(By.ID, "parameters")
    if not parameters.get_attribute("open"):
        parameters.find_element(By.TAG_NAME, "summary").click()
    steps_field = browser.find_element(By.ID, "steps")
    steps_field.clear()
    steps_field.send_keys(steps)
    browser.find_element(By.ID, "generate").click()


def test_generate_then_a_paraphrase_hits_the_cache(browser, imagine_server):  # noqa: F811
    server, _ = imagine_server
    browser.delete_all_cookies()
    sign_in(browser, server, path="/imagine/")
    assert browser.current_url.endswith("/imagine/")
    wait(browser, lambda b: b.find_element(By.ID, "results").text.strip() not in ("", "Loading…"))
    before = len(figures(browser))

    generate(browser, "a city skyline at night")
    wait(browser, lambda b: len(figures(b)) == before + 1, timeout=120)
    wait(browser, lambda b: "Done" in b.find_element(By.ID, "progress-text").text)
    assert browser.find_element(By.ID, "progress-bar").get_attribute("style").replace(" ", "").find("width:100%") >= 0
    # Live progress: the page followed the invocation's server-sent step events up to the last step.
    progress = browser.find_element(By.ID, "progress")
    assert int(progress.get_attribute("data-events")) >= 3
    # (The server counts the scheduler's steps: PNDM runs one more than asked.)
    assert progress.get_attribute("data-last-step") == progress.get_attribute("data-total-steps")
    assert int(progress.get_attribute("data-total-steps")) >= 3
    first = figures(browser)[0]
    assert first.get_attribute("data-cache") == "miss"
    assert "cache miss" in first.find_element(By.CSS_SELECTOR, ".badge").text
    assert first.find_element(By.CSS_SELECTOR, ".prompt-text").text == "a city skyline at night"
    # The signed image_url works in an <img> tag.
    image = first.find_element(By.TAG_NAME, "img")
    wait(browser, lambda b: b.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", image))

    generate(browser, "the skyline of a city at night")
    wait(browser, lambda b: len(figures(b)) == before + 2, timeout=120)
    newest = figures(browser)[0]
    assert newest.get_attribute("data-cache") == "hit"
    assert "cache hit" in newest.find_element(By.CSS_SELECTOR, ".badge").text
    assert "a city skyline at night" in newest.find_element(By.CSS_SELECTOR, ".matched").text

    # Bypassing the cache generates again even for the same prompt.
    browser.find_element(By.ID, "bypass-cache").click()
    generate(browser, "the skyline of a city at night")
    wait(browser, lambda b: len(figures(b)) == before + 3, timeout=120)
    assert figures(browser)[0].get_attribute("data-cache") == "miss"
    browser.find_element(By.ID, "bypass-cache").click()


def test_an_empty_prompt_is_rejected_before_sending(browser, imagine_server):  # noqa: F811
    server, _ = imagine_server
    sign_in(browser, server, path="/imagine/")
    browser.find_element(By.ID, "prompt").clear()
    browser.find_element(By.ID, "generate").click()
    flash = wait(browser, EC.visibility_of_element_located((By.ID, "flash")))
    assert "prompt" in flash.text.lower()


def test_delete_removes_an_image(browser, imagine_server):  # noqa: F811
    server, _ = imagine_server
    sign_in(browser, server, path="/imagine/")
    generate(browser, "a lighthouse made of glass, study 7731")
    wait(browser, lambda b: any(f.find_element(By.CSS_SELECTOR, ".prompt-text").text.endswith("study 7731") for f in figures(b)), timeout=120)
    target = next(f for f in figures(browser) if f.find_element(By.CSS_SELECTOR, ".prompt-text").text.endswith("study 7731"))
    image_id = target.get_attribute("data-id")
    target.find_element(By.CSS_SELECTOR, "button.delete").click()
    wait(browser, EC.alert_is_present()).accept()
    wait(browser, lambda b: not b.find_elements(By.CSS_SELECTOR, f'figure.result[data-id="{image_id}"]'))
    browser.refresh()
    wait(browser, lambda b: b.find_element(By.ID, "results").text.strip() not in ("", "Loading…"))
    assert not browser.find_elements(By.CSS_SELECTOR, f'figure.result[data-id="{image_id}"]')


def test_console_apps_page_shows_imagine_metrics(browser, imagine_server):  # noqa: F811
    server, _ = imagine_server
    sign_in(browser, server, path="/imagine/")
    wait(browser, lambda b: b.find_element(By.ID, "results").text.strip() not in ("", "Loading…"))
    # A miss, then a hit for the same prompt, so the figures do not depend on the other tests.
    before = len(figures(browser))
    generate(browser, "a paper boat on a pond, sketch 4417")
    wait(browser, lambda b: len(figures(b)) == before + 1, timeout=120)
    generate(browser, "a paper boat on a pond, sketch 4417")
    wait(browser, lambda b: len(figures(b)) == before + 2, timeout=120)
    assert figures(browser)[0].get_attribute("data-cache") == "hit"

    browser.get(server.url + "/console/apps")
    panel_selector = '[data-panel="imagine"]'
    wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, panel_selector))

    def stat(label):
        return browser.find_element(By.CSS_SELECTOR, f'{panel_selector} [data-stat="{label}"] .value').text

    def field(histogram, name):
        return browser.find_element(By.CSS_SELECTOR, f'{panel_selector} tr[data-histogram="{histogram}"] td[data-field="{name}"]').text

    wait(browser, lambda b: stat("cache hits") not in ("", "–") and int(stat("cache hits")) >= 1)
    assert int(stat("cache misses")) >= 1
    assert int(stat("cache bypasses")) >= 0
    ratio = stat("hit ratio")
    assert ratio.endswith("%") and 0 < float(ratio.rstrip(" %")) <= 100
    # (A lookup in an empty cache finds nothing to compare and records no similarity.)
    assert int(field("best similarity per lookup", "count")) >= 1
    assert int(field("generation", "count")) >= 1
    assert int(field("diffusion step", "count")) >= 1
    assert int(field("queue wait", "count")) >= 1
    for name in ("mean", "p50", "p95"):
        assert field("generation", name).endswith(("ms", " s")), field("generation", name)
    # The similarity histogram is an SVG bar chart with one bar per bucket, some of them non-empty.
    bars = browser.find_elements(By.CSS_SELECTOR, f'{panel_selector} [data-chart="best similarity per lookup"] svg rect.bucket')
    assert len(bars) >= 2
    assert sum(int(bar.get_attribute("data-count")) for bar in bars) == int(field("best similarity per lookup", "count"))
    browser.save_screenshot("/tmp/console-apps.png")
