"""The console in headless Chromium: sign in, find a wordcount invocation, open it and read its logs; redrive a dead letter."""
import json
import uuid

import pytest
import requests
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from conftest import ADMIN_PASSWORD, wait_for


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1800"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def wait(browser, condition, timeout=30):
    # Tables refresh every few seconds and replace their rows: a row found a moment ago may be gone.
    return WebDriverWait(browser, timeout, ignored_exceptions=[StaleElementReferenceException]).until(condition)


def click(browser, selector, timeout=20):
    """Clicks the element matching selector, looking it up again when a refresh replaced it."""
    def attempt(b):
        b.find_element(By.CSS_SELECTOR, selector).click()
        return True
    wait(browser, attempt, timeout)


def sign_in(browser, server, path="/console", username="admin", password=ADMIN_PASSWORD):
    """Opens a console page; when it redirects to the sign-in form, signs in and lands back on it."""
    browser.get(server.url + path)
    if "/console/login" in browser.current_url:
        field = wait(browser, EC.presence_of_element_located((By.ID, "username")))
        field.clear()
        field.send_keys(username)
        browser.find_element(By.ID, "password").send_keys(password)
        browser.find_element(By.ID, "sign-in").click()
        wait(browser, lambda b: "/console/login" not in b.current_url)


def sign_out(browser):
    browser.find_element(By.CSS_SELECTOR, "form.signout button").click()
    wait(browser, lambda b: "/console/login" in b.current_url)


def test_wrong_password_shows_an_error(browser, server):
    browser.delete_all_cookies()
    browser.get(server.url + "/console/functions")
    wait(browser, EC.presence_of_element_located((By.ID, "username")))
    assert "next=/console/functions" in browser.current_url
    browser.find_element(By.ID, "username").send_keys("admin")
    browser.find_element(By.ID, "password").send_keys("not-the-password")
    browser.find_element(By.ID, "sign-in").click()
    error = wait(browser, EC.presence_of_element_located((By.ID, "login-error")))
    assert "wrong" in error.text
    # The session cookie is HttpOnly: page scripts cannot read it.
    assert "aerie_session" not in browser.execute_script("return document.cookie")


def test_invocation_is_listed_with_its_logs(browser, server, admin_token):
    auth = {"Authorization": f"Bearer {admin_token}"}
    key = f"console/{uuid.uuid4().hex}.txt"
    put = requests.put(f"{server.url}/v1/buckets/quickstart/objects/{key}", data=b"one two two three three three",
                       headers={**auth, "Content-Type": "text/plain"}, timeout=10)
    assert put.status_code == 201, put.text
    started = requests.post(f"{server.url}/v1/functions/wordcount/invocations", json={"key": key}, headers=auth, timeout=30)
    assert started.status_code == 202, started.text
    invocation_id = started.json()["id"]

    def finished():
        record = requests.get(f"{server.url}/v1/invocations/{invocation_id}", headers=auth, timeout=10).json()
        return record if record["status"] in ("succeeded", "failed") else None

    assert wait_for(finished, timeout=30, what="the wordcount invocation")["status"] == "succeeded"

    browser.delete_all_cookies()
    sign_in(browser, server, "/console/invocations?function=wordcount")
    assert browser.current_url.endswith("/console/invocations?function=wordcount")
    row_text = wait(browser, lambda b: b.find_element(By.CSS_SELECTOR, f'tr[data-invocation="{invocation_id}"]').text)
    assert "wordcount" in row_text and "succeeded" in row_text
    click(browser, f'tr[data-invocation="{invocation_id}"] a.invocation-link')

    wait(browser, EC.url_contains(f"/console/invocations/{invocation_id}"))
    log_text = wait(browser, lambda b: b.find_element(By.CSS_SELECTOR, "#logs tr.log-line").text)
    assert "counted 6 words" in log_text
    record = json.loads(wait(browser, lambda b: b.find_element(By.ID, "record").text.startswith("{") and b.find_element(By.ID, "record").text))
    assert record["id"] == invocation_id and record["function"] == "wordcount" and record["status"] == "succeeded"
    # The live stream replays the finished invocation's events and ends.
    wait(browser, lambda b: b.find_element(By.ID, "stream-state").text == "ended")
    assert browser.find_elements(By.CSS_SELECTOR, "#events li.result")


def test_redrive_a_dead_letter(browser, server, admin_token):
    auth = {"Authorization": f"Bearer {admin_token}"}
    queue = "console-" + uuid.uuid4().hex[:8]
    assert requests.post(f"{server.url}/v1/queues", json={"name": queue, "max_attempts": 1}, headers=auth, timeout=10).status_code == 201
    assert requests.post(f"{server.url}/v1/queues/{queue}/messages", json={"messages": [{"body": {"n": 1}}]}, headers=auth, timeout=10).status_code == 201
    message = requests.post(f"{server.url}/v1/queues/{queue}/receive", json={}, headers=auth, timeout=10).json()["items"][0]
    nack = requests.post(f"{server.url}/v1/queues/{queue}/nack", json={"receipt": message["receipt"], "error": "boom"}, headers=auth, timeout=10)
    assert nack.status_code == 204

    def stats():
        for item in requests.get(f"{server.url}/v1/queues", headers=auth, timeout=10).json()["items"]:
            if item["name"] == queue:
                return item["stats"]
        return None

    wait_for(lambda: stats()["dead_letters"] == 1, what="the dead letter")

    sign_in(browser, server, "/console/queues")
    click(browser, f'tr[data-queue="{queue}"] button')
    click(browser, f'tr[data-message="{message["id"]}"] button.redrive')
    flash = wait(browser, EC.visibility_of_element_located((By.ID, "flash")))
    assert "Moved 1" in flash.text, flash.text
    assert stats()["dead_letters"] == 0
    assert stats()["visible"] + stats()["delayed"] == 1


def test_users_and_keys(browser, server):
    sign_in(browser, server, "/console/users")
    name = "console-" + uuid.uuid4().hex[:6]
    form = wait(browser, EC.presence_of_element_located((By.ID, "create-key")))
    form.find_element(By.NAME, "name").send_keys(name)
    form.find_element(By.CSS_SELECTOR, 'input[value="queues"]').click()
    form.find_element(By.TAG_NAME, "button").click()
    secret = wait(browser, EC.visibility_of_element_located((By.ID, "new-key-secret")))
    assert secret.text.startswith("aerie_")
    # The key works, and the list shows it without its secret.
    assert requests.get(server.url + "/v1/queues", headers={"Authorization": f"Bearer {secret.text}"}, timeout=10).status_code == 200
    row = wait(browser, lambda b: next((r for r in b.find_elements(By.CSS_SELECTOR, "#keys tbody tr") if name in r.text), None))
    assert secret.text not in row.text


def test_screenshots_of_overview_and_functions(browser, server, admin_token):
    # Some traffic, so the charts have something to draw.
    for text in ("a b c", "to be or not to be", "the end"):
        requests.post(f"{server.url}/v1/functions/wordcount/invoke", json={"text": text},
                      headers={"Authorization": f"Bearer {admin_token}"}, timeout=30)
    sign_in(browser, server, "/console")
    wait(browser, lambda b: b.find_element(By.CSS_SELECTOR, '[data-count="functions"]').text not in ("", "–"))
    wait(browser, EC.presence_of_element_located((By.CSS_SELECTOR, "#latency-routes svg")))
    wait(browser, EC.presence_of_element_located((By.CSS_SELECTOR, "#function-latency svg")))
    assert int(browser.find_element(By.CSS_SELECTOR, '[data-count="functions"]').text) >= 1
    # The page's own polling is traffic: after a second sample the history chart draws lines.
    wait(browser, EC.presence_of_element_located((By.CSS_SELECTOR, "#latency-history polyline")), timeout=30)
    browser.save_screenshot("/tmp/console-overview.png")

    browser.get(server.url + "/console/functions")
    cells = wait(browser, lambda b: [cell.text for cell in b.find_elements(By.CSS_SELECTOR, 'tr[data-function="wordcount"] td')])
    assert cells[0] == "wordcount"
    assert int(cells[3]) >= 1  # invocations
    browser.save_screenshot("/tmp/console-functions.png")
    sign_out(browser)


def test_apps_page_renders_the_app_panels(browser, server):
    # Apps contribute panels generically (AerieHTTPApp.consolePanels); test_imagine_page checks Imagine's figures.
    sign_in(browser, server, "/console/apps")
    assert browser.current_url.endswith("/console/apps")
    assert browser.find_element(By.CSS_SELECTOR, 'nav a[href="/console/apps"]').get_attribute("aria-current") == "page"
    wait(browser, lambda b: b.find_element(By.ID, "app-panels").text.strip() not in ("", "Loading…"))
    panels = browser.find_elements(By.CSS_SELECTOR, "#app-panels section[data-panel]")
    if not panels:
        assert "No enabled app declares a console panel." in browser.find_element(By.ID, "app-panels").text
    for panel in panels:
        assert panel.find_elements(By.CSS_SELECTOR, "[data-stat] .value")
    assert browser.find_element(By.ID, "flash").get_attribute("hidden") is not None
