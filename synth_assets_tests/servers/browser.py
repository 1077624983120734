"""Headless Chromium (Debian's chromium and chromedriver; nothing is downloaded) via Selenium."""

from __future__ import annotations

import shutil
import time
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By


@contextmanager
def chromium(width: int = 1600, height: int = 1000):
    browser, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not browser or not driver_path:
        raise RuntimeError(
            "chromium and chromedriver are not installed; `make system-deps` installs them (apt)"
        )
    options = Options()
    options.binary_location = browser
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument(f"--window-size={width},{height}")
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def open_and_wait_for(driver, url: str, needles: list[str], timeout: float = 90) -> str:
    """Load ``url`` and wait until the page text shows every needle (dismissing Dagster's
    first-visit community dialog); returns the page text."""
    driver.get(url)
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        for button in driver.find_elements(By.XPATH, "//button[normalize-space()='Skip']"):
            try:
                button.click()
            except WebDriverException:
                pass
        text = driver.find_element(By.TAG_NAME, "body").text
        if all(needle in text for needle in needles):
            settle = time.monotonic() + 20  # let the nodes finish loading before a screenshot
            while "Loading..." in text and time.monotonic() < settle:
                time.sleep(1)
                text = driver.find_element(By.TAG_NAME, "body").text
            return text
        time.sleep(1)
    missing = [n for n in needles if n not in text]
    raise AssertionError(f"{url}: {missing} never appeared; page text: {text[:1500]}")


def screenshot(driver, folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def scroll_to_text(driver, text: str) -> None:
    """Scroll the first element whose own text is ``text`` to the top of its scrolling pane."""
    elements = driver.find_elements(By.XPATH, f"//*[normalize-space(text())='{text}']")
    if not elements:
        raise AssertionError(f"no element with the text {text!r} on {driver.current_url}")
    driver.execute_script("arguments[0].scrollIntoView({block: 'start'});", elements[0])
    time.sleep(1)
