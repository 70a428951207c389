"""The page kit in headless Chromium: the console, /pipeline/ and /imagine/ each load kit.js once, show the same top bar
with the signed-in user and the enabled apps, and sign out; kit.js sends 401s to the sign-in page and shows problem+json
errors in #flash. (/imagine/ renders without its models: the page only needs the app enabled, as `aerie serve` does.)"""
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC

from test_console import browser, sign_in, sign_out, wait  # noqa: F401  (fixtures and helpers)

# (path, the top-bar link marked as the current page, an element the page's own script fills or uses)
PAGES = [
    ("/console", "/console", "latency-routes"),
    ("/pipeline/", "/pipeline/", "predict-form"),
    ("/imagine/", "/imagine/", "imagine-form"),
]

KIT_RESOURCES = """
return performance.getEntriesByType('resource').map((entry) => new URL(entry.name).pathname)
  .filter((path) => path === '/kit/kit.js' || path === '/kit/kit.css');
"""


@pytest.mark.parametrize("path,active,element", PAGES, ids=[page[0].strip("/") or "console" for page in PAGES])
def test_page_uses_the_kit_once_with_the_top_bar(browser, server, path, active, element):  # noqa: F811
    browser.delete_all_cookies()
    sign_in(browser, server, path)
    assert browser.current_url.endswith(path)
    wait(browser, EC.presence_of_element_located((By.ID, element)))
    wait(browser, lambda b: b.execute_script("return document.readyState") == "complete")

    # kit.js and kit.css: one tag each, fetched once, and the page's own script ran on top of `aerie`.
    assert len(browser.find_elements(By.CSS_SELECTOR, 'script[src^="/kit/kit.js"]')) == 1
    assert len(browser.find_elements(By.CSS_SELECTOR, 'link[rel="stylesheet"][href^="/kit/kit.css"]')) == 1
    assert sorted(browser.execute_script(KIT_RESOURCES)) == ["/kit/kit.css", "/kit/kit.js"]
    assert browser.execute_script("return typeof aerie.api === 'function' && typeof aerie.charts.line === 'function'")
    scripts = [tag.get_attribute("src") for tag in browser.find_elements(By.TAG_NAME, "script")]
    assert scripts[0].split("?")[0].endswith("/kit/kit.js") and len(scripts) == 2, scripts
    # The kit's colours apply: the top bar is dark, the page's background light.
    assert browser.execute_script("return getComputedStyle(document.querySelector('.topbar')).backgroundColor") == "rgb(29, 35, 48)"

    # The top bar: the user, the console (an admin) and every enabled app, the current one marked.
    assert browser.find_element(By.CSS_SELECTOR, ".topbar .who").text == "admin"
    links = {a.get_attribute("data-app"): a for a in browser.find_elements(By.CSS_SELECTOR, ".topbar nav a")}
    assert {"console", "pipeline", "imagine"} <= set(links), list(links)
    current = browser.find_elements(By.CSS_SELECTOR, '.topbar nav a[aria-current="page"]')
    assert [a.get_attribute("pathname") for a in current] == [active]
    # #flash is hidden, unless the page's API answered a problem (Imagine without its models says what to install).
    flash = browser.find_element(By.ID, "flash")
    assert flash.get_attribute("hidden") is not None or (path == "/imagine/" and "Imagine" in flash.text), flash.text
    browser.save_screenshot(f"/tmp/page-kit-{path.strip('/') or 'console'}.png")

    # The top bar leads to the other pages.
    other = "pipeline" if path != "/pipeline/" else "imagine"
    links[other].click()
    wait(browser, lambda b: b.current_url.endswith(f"/{other}/"))
    assert browser.find_element(By.CSS_SELECTOR, ".topbar .who").text == "admin"

    # Sign out from any page: back to the form, and the page asks to sign in again.
    browser.get(server.url + path)
    sign_out(browser)
    browser.get(server.url + path)
    wait(browser, lambda b: "/console/login" in b.current_url)
    assert browser.find_elements(By.ID, "sign-in")


def test_problem_details_show_in_the_flash_and_401_goes_to_sign_in(browser, server):  # noqa: F811
    browser.delete_all_cookies()
    sign_in(browser, server, "/pipeline/")
    wait(browser, EC.presence_of_element_located((By.ID, "predict-form")))
    browser.execute_script("aerie.api('GET', '/v1/apps/pipeline/models/no-such-model').catch(aerie.fail)")
    flash = wait(browser, EC.visibility_of_element_located((By.ID, "flash")))
    assert "no-such-model" in flash.text, flash.text

    # The session ends (here: its cookie is gone): the next API call sends the browser to sign in and back.
    browser.delete_all_cookies()
    browser.execute_script("aerie.api('GET', '/v1/apps/pipeline/datasets').catch(() => {})")
    wait(browser, lambda b: "/console/login" in b.current_url)
    assert "next=%2Fpipeline%2F" in browser.current_url or "next=/pipeline/" in browser.current_url, browser.current_url
