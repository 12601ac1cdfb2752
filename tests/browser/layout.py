"""What a page's layout measures in the browser: whether it fits the window, and what sticks out."""


def overflow(page):
    """How many CSS pixels the document is wider than the window (0 when it fits)."""
    return page.evaluate("() => Math.max(0, document.documentElement.scrollWidth - window.innerWidth)")


def widest_elements(page):
    """What sticks out past the window's right edge, for the failure message."""
    return page.evaluate("""() => Array.from(document.querySelectorAll('body *'))
        .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5 && !e.closest('.table-scroll'))
        .slice(0, 8).map(e => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className + ' '
                         + Math.round(e.getBoundingClientRect().right))""")
