#!/usr/bin/env python3
"""Writes the detection corpus: one folder per page design, each with `page.html` (the page as
a site would serve it, in its own charset) and `expected.json` (what a person wants from it).

Pages and expectations come from the same data here, never from the detector, so the test in
`tests/detect.rs` measures the detector against a person's answer. Run it from this folder:
`python3 generate.py`; it rewrites every design deterministically.

expected.json:
  genre       what kind of site the design imitates
  url         the address the page is served at (links resolve against it)
  key         the column that identifies a row (rows are matched in order by it)
  rows        every item a person wants, in page order: column -> value (a list for lists);
              columns hold the values a person would want, as extraction gives them
              (text with whitespace collapsed, links and images made absolute when they are
              `href`/`src`, attribute values as written)
  pagination  {"next": URL of page 2} or null when the page has no next page
"""

import html
import json
import os
import random
from urllib.parse import quote, urljoin as plain_urljoin

HERE = os.path.dirname(os.path.abspath(__file__))
rnd = random.Random(20240312)

WORDS = ("amber bold calm daring eager fair gentle happy ivory jolly keen lively merry noble "
         "olive proud quiet rapid silver tidy urban vivid warm young zesty").split()
NOUNS = ("kettle toaster blender mixer grinder press steamer cooker roaster juicer "
         "fryer scale").split()


def urljoin(base, ref):
    """The absolute URL as a URL parser writes it: non-ASCII characters percent-encoded."""
    return quote(plain_urljoin(base, ref), safe=":/?#[]@!$&'()*+,;=%~")


def esc(s):
    return html.escape(s, quote=True)


def write(design, genre, url, key, rows, page, pagination=None, encoding="utf-8"):
    folder = os.path.join(HERE, design)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "page.html"), "wb") as f:
        f.write(page.encode(encoding))
    expected = {
        "genre": genre,
        "url": url,
        "key": key,
        "rows": rows,
        "pagination": {"next": pagination} if pagination else None,
    }
    with open(os.path.join(folder, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(expected, f, ensure_ascii=False, indent=1)
        f.write("\n")


def title_case(*words):
    return " ".join(w.capitalize() for w in words)


def slug(s):
    out = "".join(c.lower() if c.isalnum() else "-" for c in s)
    return "-".join(p for p in out.split("-") if p)


def footer(cols=3, per=5):
    names = ["Help", "Company", "Legal", "Follow us"]
    links = ["Delivery", "Returns", "Contact", "About us", "Careers", "Press", "Privacy",
             "Terms", "Cookies", "Sitemap", "Instagram", "Newsletter"]
    out = ['<footer class="site-footer">']
    for c in range(cols):
        out.append(f'<div class="footer-col"><h4>{names[c]}</h4><ul>')
        for i in range(per):
            name = links[(c * per + i) % len(links)]
            out.append(f'<li><a href="/info/{slug(name)}-{c}{i}">{name}</a></li>')
        out.append("</ul></div>")
    out.append("<p>&copy; 2024</p></footer>")
    return "\n".join(out)


# --------------------------------------------------------------------------------------------
def shop_grid():
    url = "https://shop.example/c/kettles?sort=popular"
    rows, items = [], []
    for i in range(12):
        name = title_case(WORDS[i], NOUNS[i % len(NOUNS)], "kettle" if i % 3 else "pro")
        s = slug(name)
        price = f"€{19 + i * 3}.{(i * 17) % 100:02d}"
        sale = i in (2, 5, 9)
        old = f"€{29 + i * 3}.99" if sale else None
        sku = f"K-{1001 + i}"
        cls = "product product--sale" if sale else "product"
        prices = (f'<del class="product__old-price">{old}</del> ' if sale else "") + \
            f'<span class="product__price">{price}</span>'
        items.append(f"""<li class="{cls}">
  <a class="product__link" href="/p/{s}"><img class="product__image" src="/img/p/{s}.jpg" alt="{esc(name)}">
  <h2 class="product__name">{esc(name)}</h2></a>
  <div class="product__prices">{prices}</div>
  <button class="add-to-cart" data-sku="{sku}">Add to cart</button>
</li>""")
        row = {"name": name, "price": price, "link": urljoin(url, f"/p/{s}"),
               "image": urljoin(url, f"/img/p/{s}.jpg"), "sku": sku}
        if sale:
            row["old_price"] = old
        rows.append(row)
        if i == 3:
            items.append('<li class="promo-tile"><a href="/sale"><img src="/img/promo.jpg" '
                         'alt="Summer sale"><p>Summer sale: up to 40% off</p></a></li>')
        if i == 7:
            items.append('<li class="ad-slot"><div class="ad-label">Advertisement</div>'
                         '<iframe src="https://ads.example/slot/1"></iframe></li>')
    side = "\n".join(
        f'<li class="product"><a href="/p/best-{n}"><img src="/img/p/best-{n}.jpg" alt="">'
        f'<h3 class="product__name">Bestseller {n}</h3></a><span class="product__price">€{9 + n}.00</span></li>'
        for n in range(4))
    cats = "".join(f'<li><a href="/c/{c}">{c.capitalize()}</a></li>' for c in
                   ["kettles", "toasters", "coffee", "tea", "bakeware", "knives", "storage", "sale"])
    filters = "".join(f'<li><label><input type="checkbox" name="brand" value="{b}"> {b} ({n})</label></li>'
                      for b, n in [("Aurora", 12), ("Brill", 8), ("Corvo", 5), ("Dunmore", 3)])
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Kettles – Homeware Shop</title>
<link rel="stylesheet" href="/static/site.css"><script>window.dataLayer = [];</script></head>
<body>
<header class="site-header"><a class="logo" href="/">Homeware</a>
<nav class="main-nav"><ul>{cats}</ul></nav>
<form class="search" action="/search"><input name="q" placeholder="Search"><button>Search</button></form></header>
<div class="breadcrumbs"><a href="/">Home</a> › <a href="/c/kitchen">Kitchen</a> › Kettles</div>
<div class="page">
<aside class="sidebar"><h3>Bestsellers</h3>
<ul class="products products--mini">
{side}
</ul>
<h3>Brand</h3><ul class="filters">{filters}</ul></aside>
<main id="content"><h1>Kettles</h1><p class="count">Showing 1–12 of 36 results</p>
<ul class="products">
{chr(10).join(items)}
</ul>
<nav class="pagination" aria-label="Pagination"><span class="current">1</span>
<a href="?sort=popular&amp;page=2">2</a> <a href="?sort=popular&amp;page=3">3</a>
<a href="?sort=popular&amp;page=2" rel="next">Next →</a></nav>
</main></div>
{footer()}
</body></html>
"""
    write("shop-grid", "shop grid with promo and ad tiles, a look-alike bestseller sidebar",
          url, "name", rows, page, "https://shop.example/c/kettles?sort=popular&page=2")


# --------------------------------------------------------------------------------------------
def stock_table():
    url = "https://markets.example/stocks/most-active"
    rows, trs = [], []
    for i in range(15):
        sym = "".join(rnd.choice("ABCDEFGHIKLMNOPRSTUVWXZ") for _ in range(rnd.choice([3, 4])))
        sym = f"{sym}{i}" if i % 7 == 6 else sym
        company = f"{title_case(WORDS[i], NOUNS[i % 12])} {'Inc.' if i % 2 else 'Corp.'}"
        last = f"{rnd.uniform(5, 400):.2f}"
        ch = rnd.uniform(-5, 5)
        change = f"{ch:+.2f}%"
        vol = f"{rnd.randint(1_000_000, 90_000_000):,}"
        cls = "up" if ch >= 0 else "down"
        trs.append(f'<tr><td><a href="/quote/{sym}">{sym}</a></td><td>{esc(company)}</td>'
                   f'<td class="num">{last}</td><td class="num {cls}">{change}</td><td class="num">{vol}</td></tr>')
        rows.append({"symbol": sym, "link": urljoin(url, f"/quote/{sym}"), "company": company,
                     "last": last, "change": change, "volume": vol})
    indices = "".join(f'<tr><td><a href="/index/{n}">{n}</a></td><td>{v}</td></tr>'
                      for n, v in [("DOW", "38,712.21"), ("S&amp;P 500", "5,117.09"), ("NASDAQ", "16,103.45")])
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>Most active stocks - Markets</title></head>
<body><header><nav><a href="/">Markets</a> <a href="/stocks">Stocks</a> <a href="/bonds">Bonds</a> <a href="/fx">Currencies</a></nav></header>
<div class="layout"><main><h1>Most active stocks</h1>
<table class="quotes"><caption>Most active stocks today</caption>
<thead><tr><th>Symbol</th><th>Company</th><th>Last</th><th>Change</th><th>Volume</th></tr></thead>
<tbody>
{chr(10).join(trs)}
</tbody>
<tfoot><tr><td colspan="5">Data delayed by 15 minutes.</td></tr></tfoot></table></main>
<aside><h2>Indices</h2><table class="indices">{indices}</table></aside></div>
<footer><p>Markets Example · <a href="/terms">Terms</a> · <a href="/privacy">Privacy</a></p></footer></body></html>
"""
    write("stock-table", "data table with a header, a footer row and a small look-alike table",
          url, "symbol", rows, page)


# --------------------------------------------------------------------------------------------
def news_list():
    url = "https://dailynews.example/world/"
    rows, arts = [], []
    authors = ["Ana Silva", "Ben Okafor", "Chloé Martin", "Dev Patel", "Eva Novak"]
    for i in range(10):
        head = f"{title_case(WORDS[(i * 3) % 25], 'talks')} resume as {WORDS[(i * 5) % 25]} deadline nears"
        s = slug(head)
        day = 12 - i // 3
        link = f"/world/2024/03/{day}/{s}"
        author = authors[i % 5]
        summary = (f"Negotiators met for the {i + 2}th time on {WORDS[i]} issues, "
                   f"with little sign of agreement before the weekend.")
        fig = (f'<figure class="story__image"><img src="/media/{s}.jpg" alt=""></figure>'
               if i % 2 == 0 else "")
        arts.append(f"""<article class="story">
{fig}<h2 class="story__title"><a href="{link}">{esc(head)}</a></h2>
<p class="story__meta">By <span class="author">{author}</span> · <time datetime="2024-03-{day:02d}T0{i % 9}:30:00Z">{day} March 2024</time></p>
<p class="story__summary">{esc(summary)}</p>
<a class="story__more" href="{link}">Read more</a>
</article>""")
        rows.append({"title": head, "link": urljoin(url, link), "author": author,
                     "date": f"{day} March 2024", "summary": summary})
    most = "".join(f'<li><a href="/world/2024/03/0{n}/popular-{n}">Popular story number {n} today</a></li>'
                   for n in range(1, 11))
    sections = "".join(f'<li><a href="/{s}/">{s.capitalize()}</a></li>' for s in
                       ["world", "politics", "business", "tech", "science", "sport", "culture", "opinion"])
    page = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>World news | Daily News</title></head>
<body><header class="masthead"><a href="/" class="brand">Daily News</a><nav class="sections"><ul>{sections}</ul></nav></header>
<div class="wrap"><main class="front"><h1>World</h1>
<section class="stories">
{chr(10).join(arts)}
</section>
<div class="more-stories"><a href="/world/?page=2">Older stories »</a></div>
</main>
<aside class="rail"><h3>Most read</h3><ol class="most-read">{most}</ol></aside></div>
{footer(2, 4)}
</body></html>
"""
    write("news-list", "news list with a most-read rail and an 'Older stories' link",
          url, "title", rows, page, "https://dailynews.example/world/?page=2")


# --------------------------------------------------------------------------------------------
def tailwind_cards():
    url = "https://learn.example/courses?topic=design&level=beginner"
    rows, cards = [], []
    people = ["Jane Doe", "Omar Haddad", "Lena Fischer", "Kenji Sato", "Maya Cohen", "Tom Reed",
              "Ines Duarte", "Paul Kim", "Sara Lind"]
    for i in range(9):
        t = f"{title_case(WORDS[i + 2], 'interface')} design {['basics', 'in practice', 'systems'][i % 3]}"
        s = slug(t)
        dur = f"{3 + i}h {(i * 10) % 60:02d}m"
        price = f"${29 + i * 10}"
        bg = "bg-white" if i % 2 == 0 else "bg-slate-50"
        cards.append(f"""<div class="flex flex-col overflow-hidden rounded-xl border border-slate-200 {bg} shadow-sm transition hover:shadow-md">
  <img class="h-40 w-full object-cover" src="/img/c/{s}.jpg" alt="">
  <div class="flex flex-1 flex-col p-5">
    <h3 class="text-lg font-semibold text-slate-900"><a href="/courses/{s}" class="hover:underline">{t}</a></h3>
    <p class="mt-1 text-sm text-slate-500">with <span class="font-medium text-slate-700">{people[i]}</span></p>
    <div class="mt-4 flex items-center justify-between text-sm"><span class="text-slate-600">{dur}</span><span class="font-bold text-emerald-600">{price}</span></div>
  </div>
</div>""")
        rows.append({"title": t, "link": urljoin(url, f"/courses/{s}"),
                     "image": urljoin(url, f"/img/c/{s}.jpg"), "instructor": people[i],
                     "duration": dur, "price": price})
    nav = "".join(f'<a class="text-sm font-medium text-slate-600 hover:text-slate-900" href="/{x}">{x.capitalize()}</a>'
                  for x in ["courses", "paths", "mentors", "pricing", "blog"])
    current = ' aria-current="page"'
    pages = "".join(
        f'<a class="rounded-md px-3 py-1 {"bg-slate-900 text-white" if n == 1 else "hover:bg-slate-100"}" '
        f'href="?topic=design&amp;level=beginner&amp;page={n}"{current if n == 1 else ""}>{n}</a>'
        for n in range(1, 5))
    page = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>Design courses for beginners</title>
<script src="/_next/static/chunks/main.js" defer></script></head>
<body class="bg-slate-100 antialiased">
<div class="mx-auto max-w-7xl px-4 sm:px-6 lg:px-8">
<div class="flex h-16 items-center justify-between"><a class="text-xl font-bold" href="/">Learn</a><div class="hidden gap-6 md:flex">{nav}</div></div>
<div class="py-10"><h1 class="text-3xl font-bold tracking-tight">Design for beginners</h1>
<div class="mt-8 grid grid-cols-1 gap-6 md:grid-cols-2 lg:grid-cols-3">
{chr(10).join(cards)}
</div>
<div class="mt-10 flex justify-center gap-2">{pages}</div>
</div></div>
<div class="border-t border-slate-200 py-8 text-center text-sm text-slate-500">© 2024 Learn · <a href="/terms">Terms</a> · <a href="/privacy">Privacy</a></div>
</body></html>
"""
    write("tailwind-cards", "course cards in utility-class soup, page numbers only",
          url, "title", rows, page, "https://learn.example/courses?topic=design&level=beginner&page=2")


# --------------------------------------------------------------------------------------------
def glossary():
    url = "https://wordbook.example/glossary/photography"
    terms = [("Aperture", "The opening in a lens through which light passes."),
             ("Bokeh", "The look of the out-of-focus parts of a picture."),
             ("Bracketing", "Taking several shots of one scene at different exposures."),
             ("Depth of field", "The distance between the nearest and farthest sharp objects."),
             ("Exposure", "The amount of light that reaches the sensor."),
             ("Focal length", "The distance from the lens to the sensor when focused at infinity."),
             ("Histogram", "A graph of the tones in a picture, dark to light."),
             ("ISO", "How sensitive the sensor is to light."),
             ("Long exposure", "A shutter left open long enough to blur moving things."),
             ("Macro", "Close-up photography of small subjects."),
             ("Noise", "Random speckles, most visible at high ISO."),
             ("Shutter speed", "How long the shutter stays open.")]
    dl = "\n".join(f'<dt id="{slug(t)}">{t}</dt>\n<dd>{esc(d)}</dd>' for t, d in terms)
    az = "".join(f'<a href="#{c.lower()}">{c}</a> ' for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    page = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>Photography glossary – Wordbook</title></head>
<body><header><a href="/">Wordbook</a> <nav class="az">{az}</nav></header>
<main><h1>Photography glossary</h1><p>Words you will meet when you learn to take pictures.</p>
<dl class="glossary">
{dl}
</dl></main>
<footer><p><a href="/about">About</a> · <a href="/contact">Contact</a></p></footer></body></html>
"""
    rows = [{"term": t, "definition": d} for t, d in terms]
    write("glossary", "definition list of terms, an A–Z bar of look-alike links",
          url, "term", rows, page)


# --------------------------------------------------------------------------------------------
def search_results():
    url = "https://find.example/search?q=solar+panels&lang=en"
    rows, res = [], []
    sites = ["energy.example", "homeguide.example", "greenwiki.example", "roofers.example",
             "sunnews.example", "diy.example", "savings.example", "tech.example", "gov.example",
             "forum.example"]
    for i, site in enumerate(sites):
        path = f"/{slug(WORDS[i])}-solar-guide"
        title = f"Solar panels: {WORDS[i]} guide to costs and savings ({2024 - i % 3})"
        cite = f"www.{site} › {path.strip('/')}"
        snippet = f"Everything about solar panels for your home: {WORDS[(i + 4) % 25]} tips, prices and how much you can save each year."
        res.append(f"""<div class="result" data-rank="{i + 1}"><h3><a href="https://www.{site}{path}">{esc(title)}</a></h3>
<cite class="url">{esc(cite)}</cite><p class="snippet">{esc(snippet)}</p></div>""")
        rows.append({"title": title, "link": f"https://www.{site}{path}", "url": cite, "snippet": snippet})
    ad = """<div class="result result--ad"><span class="badge">Ad</span><h3><a href="https://ads.example/click?id=77">Cheap solar panels – SunShop</a></h3>
<cite class="url">sunshop.example</cite><p class="snippet">Panels from £99. Free fitting this month.</p></div>"""
    related = "".join(f'<li><a href="/search?q=solar+panel+{w}">solar panel {w}</a></li>'
                      for w in ["cost", "grants", "installers", "battery", "size", "lifespan", "cleaning", "efficiency"])
    page = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>solar panels - Find</title></head>
<body><header><form action="/search"><input name="q" value="solar panels"><input type="hidden" name="lang" value="en"></form>
<nav class="verticals"><a href="/search?q=solar+panels">All</a> <a href="/images?q=solar+panels">Images</a> <a href="/news?q=solar+panels">News</a> <a href="/maps?q=solar+panels">Maps</a></nav></header>
<div id="results"><p class="stats">About 48,300,000 results</p>
{ad}
{chr(10).join(res)}
<div class="related"><h4>Related searches</h4><ul>{related}</ul></div>
</div>
<div class="pager"><span>1</span> <a href="/search?q=solar+panels&amp;lang=en&amp;page=2">2</a> <a href="/search?q=solar+panels&amp;lang=en&amp;page=3">3</a>
<a class="next" href="/search?q=solar+panels&amp;lang=en&amp;page=2">Next</a></div>
</body></html>
"""
    write("search-results", "search results with a sponsored result on top and related searches",
          url, "title", rows, page, "https://find.example/search?q=solar+panels&lang=en&page=2")


# --------------------------------------------------------------------------------------------
def forum():
    url = "https://forum.example/f/cycling/"
    rows, trs = [], []
    users = ["rider42", "spokes", "hillclimber", "gravelgal", "commuter_jo"]
    ages = ["2 hours ago", "5 hours ago", "yesterday", "2 days ago", "3 days ago"]
    for i in range(10):
        t = f"{title_case(WORDS[(i * 7) % 25])} {['tyres', 'gears', 'saddle', 'brakes', 'routes'][i % 5]}: advice needed ({i + 1})"
        tid = 1200 + i * 7
        link = f"/t/{tid}-{slug(t)}"
        replies, views = str(3 + i * 4), str(120 + i * 37)
        user, age = users[i % 5], ages[i % 5]
        trs.append(f"""<tr class="thread"><td class="topic"><a href="{link}">{esc(t)}</a></td><td class="replies">{replies}</td><td class="views">{views}</td></tr>
<tr class="thread-details"><td colspan="3">Started by <a href="/u/{user}">{user}</a>, last post <span class="lastpost">{age}</span></td></tr>""")
        rows.append({"title": t, "link": urljoin(url, link), "replies": replies, "views": views,
                     "author": user, "last_post": age})
    online = "".join(f'<li><a href="/u/{u}">{u}</a></li>' for u in users + ["newbie", "admin"])
    page = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>Cycling - Forum</title></head>
<body><div id="wrap"><div class="header"><a href="/">Forum</a> &raquo; <a href="/f/">Boards</a> &raquo; Cycling</div>
<div class="board"><h1>Cycling</h1>
<table class="threads" cellspacing="0">
<thead><tr><th>Topic</th><th>Replies</th><th>Views</th></tr></thead>
<tbody>
{chr(10).join(trs)}
</tbody></table>
<div class="pages">Page 1 of 5: <a href="/f/cycling/?page=2">2</a> <a href="/f/cycling/?page=3">3</a> <a href="/f/cycling/?page=2">Next ›</a></div></div>
<div class="who-online"><h3>Who is online</h3><ul>{online}</ul></div></div></body></html>
"""
    write("forum", "forum threads whose items span two table rows",
          url, "title", rows, page, "https://forum.example/f/cycling/?page=2")


# --------------------------------------------------------------------------------------------
def directory():
    url = "https://localpros.example/plumbers/london/"
    rows, ls = [], []
    streets = ["High Street", "Mill Lane", "Church Road", "Station Road", "Park Avenue", "Kings Road", "Queens Walk", "Bridge Street"]
    tagsets = [["Boilers", "Emergency"], ["Bathrooms"], ["Boilers", "Heating", "Gas Safe"], ["Leaks"],
               ["Emergency", "Drains"], ["Heating"], ["Bathrooms", "Kitchens"], ["Drains"]]
    for i in range(8):
        name = f"{title_case(WORDS[i * 2])} Plumbing {'Ltd' if i % 2 else '& Sons'}"
        s = slug(name)
        addr = f"{10 + i * 3} {streets[i]}, London N{i + 1} {i + 2}AB"
        phone = f"020 7946 0{100 + i * 11}"
        tel = "+44207946" + f"0{100 + i * 11}"
        email = f"info@{s}.example"
        site = f"https://{s}.example/"
        tags = "".join(f"<li>{t}</li>" for t in tagsets[i])
        ls.append(f"""<div class="listing">
  <h2 class="listing-name"><a href="/biz/{s}">{esc(name)}</a></h2>
  <address class="listing-address">{addr}</address>
  <p class="listing-contact"><a href="tel:{tel}">{phone}</a> · <a href="mailto:{email}">Email</a> · <a href="{site}" rel="nofollow">Website</a></p>
  <ul class="listing-tags">{tags}</ul>
</div>""")
        rows.append({"name": name, "link": urljoin(url, f"/biz/{s}"), "address": addr, "phone": phone,
                     "email": email, "website": site, "tags": tagsets[i]})
    cats = "".join(f'<li><a href="/{c}/london/">{c.capitalize()}</a> ({n})</li>' for c, n in
                   [("electricians", 120), ("builders", 98), ("roofers", 44), ("painters", 61),
                    ("locksmiths", 23), ("gardeners", 57), ("cleaners", 140), ("movers", 35)])
    page = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>Plumbers in London | LocalPros</title></head>
<body><header><a href="/">LocalPros</a></header>
<div class="container"><div class="results"><h1>Plumbers in London</h1>
{chr(10).join(ls)}
<nav class="pager"><strong>1</strong> <a href="/plumbers/london/page/2/">2</a> <a href="/plumbers/london/page/3/">3</a> <a href="/plumbers/london/page/4/">4</a></nav>
</div>
<aside><h3>Other trades</h3><ul>{cats}</ul></aside></div>
</body></html>
"""
    write("directory", "business directory with phone and e-mail links, page numbers in the path",
          url, "name", rows, page, "https://localpros.example/plumbers/london/page/2/")


# --------------------------------------------------------------------------------------------
def job_board():
    url = "https://jobs.example/de/suche?q=entwickler&ort=berlin"
    rows, cards = [], []
    titles = ["Senior Rust-Entwickler", "Backend-Entwickler Go", "Frontend-Entwicklerin React",
              "Data Engineer", "DevOps Engineer", "Fullstack-Entwickler", "Embedded-Entwickler C",
              "QA Engineer", "Mobile-Entwickler iOS", "Security Engineer"]
    companies = ["Nordlicht GmbH", "Spree Software AG", "Kiezcode GmbH", "Datenwerk GmbH", "Wolke 7 GmbH"]
    places = ["Berlin", "Berlin-Mitte", "Remote", "Berlin-Kreuzberg", "Potsdam"]
    tagsets = [["Rust", "Remote"], ["Go"], ["React", "TypeScript"], ["Python", "Spark"], ["Kubernetes"],
               ["Java", "Vue"], ["C", "RTOS"], ["Testing"], ["Swift"], ["Security", "Remote"]]
    for i, t in enumerate(titles):
        jid = 48213 + i * 17
        full = f"{t} (m/w/d)"
        link = f"/de/job/{jid}-{slug(t)}"
        sal = f"{55 + i * 3}.000 – {70 + i * 3}.000 €" if i % 3 != 2 else None
        date = f"2024-03-{12 - i % 6:02d}"
        tags = "".join(f"<li>{x}</li>" for x in tagsets[i])
        salary = f'<span class="job-card__salary">{sal}</span>' if sal else ""
        cards.append(f"""<li class="job-card" data-job-id="{jid}">
  <h3 class="job-card__title"><a href="{link}">{esc(full)}</a></h3>
  <div class="job-card__company">{companies[i % 5]}</div>
  <div class="job-card__meta"><span class="job-card__location">{places[i % 5]}</span>{salary}</div>
  <time class="job-card__date" datetime="{date}">vor {i % 6 + 1} Tagen</time>
  <ul class="job-card__tags">{tags}</ul>
</li>""")
        row = {"title": full, "link": urljoin(url, link), "company": companies[i % 5],
               "location": places[i % 5], "date": date, "tags": tagsets[i]}
        if sal:
            row["salary"] = sal
        rows.append(row)
    filters = "".join(
        f'<h4>{h}</h4><ul>' + "".join(f'<li><label><input type="checkbox"> {o} ({n})</label></li>' for o, n in opts) + "</ul>"
        for h, opts in [("Arbeitszeit", [("Vollzeit", 120), ("Teilzeit", 31)]),
                        ("Erfahrung", [("Junior", 40), ("Senior", 77), ("Lead", 9)])])
    page = f"""<!DOCTYPE html><html lang="de"><head><meta charset="utf-8"><title>Entwickler Jobs in Berlin – Jobs</title></head>
<body><header class="topbar"><a href="/de/">Jobs</a><nav><a href="/de/firmen">Firmen</a> <a href="/de/ratgeber">Ratgeber</a></nav></header>
<div class="layout"><aside class="filters">{filters}</aside>
<main><h1>142 Jobs für „Entwickler“ in Berlin</h1>
<ul class="job-list">
{chr(10).join(cards)}
</ul>
<div class="paging"><span>Seite 1 von 15</span> <a href="/de/suche?q=entwickler&amp;ort=berlin&amp;seite=2">Weiter</a></div>
</main></div></body></html>
"""
    write("job-board", "German job board with tags, optional salaries and a 'Weiter' link",
          url, "title", rows, page, "https://jobs.example/de/suche?q=entwickler&ort=berlin&seite=2")


# --------------------------------------------------------------------------------------------
def real_estate():
    url = "https://immo.example/vente/paris?tri=prix"
    rows, arts = [], []
    for i in range(8):
        pieces = 1 + i % 4
        surface = 22 + i * 9
        prix = 210000 + i * 48000
        aid = f"A-{1001 + i}"
        lieu = f"Paris {10 + i}e"
        titre = f"Appartement {pieces} pièce{'s' if pieces > 1 else ''}"
        prix_txt = f"{prix:,} €".replace(",", " ")
        arts.append(f"""<article class="annonce" data-prix="{prix}" data-surface="{surface}" data-pieces="{pieces}" data-id="{aid}">
  <a class="annonce__lien" href="/annonce/{aid}">
    <img class="annonce__photo lazy" src="/img/placeholder.gif" data-src="/photos/{aid}.jpg" alt="">
    <div class="annonce__infos"><h2 class="annonce__titre">{titre}</h2><p class="annonce__lieu">{lieu}</p><p class="annonce__prix">{prix_txt}</p></div>
  </a>
</article>""")
        if i == 3:
            arts.append('<div class="bandeau-pub"><p>Publicité</p><a href="https://banque.example/credit">Votre crédit immobilier en 24h</a></div>')
        rows.append({"titre": titre, "lien": urljoin(url, f"/annonce/{aid}"), "photo": f"/photos/{aid}.jpg",
                     "lieu": lieu, "prix": prix_txt, "prix_valeur": str(prix), "surface": str(surface),
                     "pieces": str(pieces)})
    page = f"""<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>Appartements à vendre à Paris - Immo</title></head>
<body><header><a href="/">Immo</a> <nav><a href="/vente/">Acheter</a> <a href="/location/">Louer</a> <a href="/estimer/">Estimer</a></nav></header>
<section class="resultats"><h1>Appartements à vendre à Paris</h1>
{chr(10).join(arts)}
</section>
<nav class="pagination"><span class="pagination__courante">1</span> <a class="pagination__suivant" href="?tri=prix&amp;page=2">Suivant ›</a></nav>
</body></html>
"""
    write("real-estate", "French property listings with surface and rooms only in data attributes",
          url, "titre", rows, page, "https://immo.example/vente/paris?tri=prix&page=2")


# --------------------------------------------------------------------------------------------
def events():
    url = "https://agenda.example/madrid/conciertos"
    rows, evs = [], []
    bands = ["Los Planetas", "Vetusta Morla", "Rosalía Tribute", "Zahara", "Sidonie", "Love of Lesbian", "Carolina Durante"]
    venues = ["Sala Sol", "La Riviera", "Teatro Barceló", "Sala But", "WiZink Center"]
    days = ["Vie", "Sáb", "Dom", "Lun", "Mar", "Mié", "Jue"]
    for i, band in enumerate(bands):
        d = 5 + i
        name = f"{band} en concierto"
        s = slug(band)
        start = f"2024-04-{d:02d}T21:00"
        price = f"{18 + i * 4} €"
        evs.append(f"""<div class="evento" itemscope itemtype="https://schema.org/Event">
  <meta itemprop="startDate" content="{start}">
  <h3 itemprop="name"><a itemprop="url" href="/eventos/{s}">{esc(name)}</a></h3>
  <p class="fecha">{days[i]} {d} abr · 21:00</p>
  <p class="lugar" itemprop="location" itemscope itemtype="https://schema.org/Place"><span itemprop="name">{venues[i % 5]}</span></p>
  <p class="precio" itemprop="offers" itemscope itemtype="https://schema.org/Offer"><span itemprop="price" content="{18 + i * 4}.00">{price}</span></p>
</div>""")
        rows.append({"name": name, "link": urljoin(url, f"/eventos/{s}"), "start": start,
                     "fecha": f"{days[i]} {d} abr · 21:00", "lugar": venues[i % 5], "precio": price})
    template = """<template id="evento-tpl"><div class="evento" itemscope itemtype="https://schema.org/Event">
  <meta itemprop="startDate" content=""><h3 itemprop="name"><a itemprop="url" href="#">Cargando…</a></h3>
  <p class="fecha">—</p><p class="lugar">—</p><p class="precio">—</p></div></template>"""
    page = f"""<!DOCTYPE html><html lang="es"><head><meta charset="utf-8"><title>Conciertos en Madrid – Agenda</title></head>
<body><header><a href="/">Agenda</a><nav><a href="/madrid/teatro">Teatro</a> <a href="/madrid/cine">Cine</a> <a href="/madrid/conciertos">Conciertos</a></nav></header>
{template}
<main><h1>Conciertos en Madrid</h1>
<div class="agenda">
{chr(10).join(evs)}
</div>
<p class="navegacion"><a class="siguiente" href="/madrid/conciertos?pagina=2">Siguiente »</a></p></main>
<script>document.querySelectorAll('template');</script></body></html>
"""
    write("events", "Spanish event calendar in schema.org microdata, with a hidden template card",
          url, "name", rows, page, "https://agenda.example/madrid/conciertos?pagina=2")


# --------------------------------------------------------------------------------------------
def legacy_shop():
    url = "http://www.vieux-magasin.example/catalogue.asp?cat=7"
    rows, trs = [], []
    names = ["Crème brûlée à la vanille", "Pâte de fruits à l'abricot", "Calissons d'Aix", "Nougat de Montélimar",
             "Madeleines au beurre", "Caramels à la fleur de sel", "Bêtises de Cambrai", "Canelés bordelais",
             "Marrons glacés", "Tarte Tatin surgelée"]
    for i, n in enumerate(names):
        pid = 101 + i
        prix = f"€ {3 + i},{(i * 15) % 100:02d}"
        stock = "En stock" if i % 4 else "Épuisé"
        trs.append(f'<TR><TD><A HREF="produit.asp?id={pid}"><FONT COLOR=navy>{esc(n)}</FONT></A><TD ALIGN=right>{prix}<TD>{stock}')
        rows.append({"produit": n, "lien": urljoin(url, f"produit.asp?id={pid}"), "prix": prix, "stock": stock})
    menu = "".join(f'<TR><TD><A HREF="catalogue.asp?cat={c}">{n}</A>' for c, n in
                   enumerate(["Fromages", "Vins", "Épicerie salée", "Thés & cafés", "Chocolats", "Confitures", "Épicerie sucrée", "Coffrets"], 1))
    page = f"""<HTML><HEAD><META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=windows-1252">
<TITLE>Épicerie fine – Catalogue</TITLE></HEAD>
<BODY BGCOLOR=#FFFFFF TEXT=#000000>
<TABLE WIDTH=760 BORDER=0 CELLPADDING=0><TR><TD COLSPAN=2><IMG SRC="images/bandeau.gif" WIDTH=760 HEIGHT=80 ALT="Le Vieux Magasin">
<TR><TD VALIGN=top WIDTH=150 BGCOLOR=#EEEEDD>
<TABLE CELLPADDING=3>{menu}</TABLE>
<TD VALIGN=top>
<FONT FACE="Arial" SIZE=4><B>Épicerie sucrée</B></FONT><BR><BR>
<TABLE CELLPADDING=4 BORDER=1 WIDTH=100%>
<TR BGCOLOR=#CCCCCC><TD><B>Produit</B><TD><B>Prix</B><TD><B>Disponibilité</B>
{chr(10).join(trs)}
</TABLE>
<P><A HREF="catalogue.asp?cat=7&amp;page=2">Page suivante &gt;&gt;</A>
</TABLE>
<CENTER><FONT SIZE=1>© 1999-2024 Le Vieux Magasin — <A HREF="mentions.asp">Mentions légales</A></FONT></CENTER>
</BODY></HTML>
"""
    write("legacy-shop-1252", "old table-layout shop in windows-1252 with unclosed cells",
          url, "produit", rows, page, "http://www.vieux-magasin.example/catalogue.asp?cat=7&page=2",
          encoding="cp1252")


# --------------------------------------------------------------------------------------------
def jp_news():
    url = "https://news.example.jp/it/"
    heads = ["新型スマートフォンの販売台数が過去最高に", "国内クラウド市場、前年比二割増", "生成AIの利用ガイドラインを公表",
             "半導体工場の建設計画が前進", "電子マネー決済の利用者が拡大", "大学発スタートアップに投資集中",
             "自動運転バスの実証実験を開始", "サイバー攻撃への対策を強化", "通信各社が新料金プランを発表", "量子コンピューター研究で新成果"]
    cats = ["IT", "経済", "社会", "科学", "IT", "経済", "社会", "IT", "経済", "科学"]
    rows, lis = [], []
    for i, h in enumerate(heads):
        path = f"/it/20240312-{i + 1:03d}.html"
        date = f"2024年3月{12 - i // 4}日"
        lis.append(f'<li><span class="date">{date}</span> <a href="{path}">{h}</a> <span class="cat">{cats[i]}</span></li>')
        rows.append({"title": h, "link": urljoin(url, path), "date": date, "category": cats[i]})
    ranking = "".join(f'<li><a href="/it/rank-{n}.html">ランキング記事{n}</a></li>' for n in range(1, 6))
    page = f"""<!DOCTYPE html><html lang="ja"><head><meta charset="Shift_JIS"><title>ITニュース一覧 - ニュース</title></head>
<body><div id="header"><a href="/">ニュース</a> <ul class="gnav"><li><a href="/it/">IT</a></li><li><a href="/keizai/">経済</a></li><li><a href="/shakai/">社会</a></li></ul></div>
<div id="main"><h1>ITニュース</h1>
<ul class="news-list">
{chr(10).join(lis)}
</ul>
<p class="pager"><a href="/it/?p=2">次へ &raquo;</a></p></div>
<div id="side" class="ranking"><h2>アクセスランキング</h2><ol>{ranking}</ol></div>
</body></html>
"""
    write("jp-news-sjis", "Japanese news list in Shift_JIS with a 次へ link and a ranking box",
          url, "title", rows, page, "https://news.example.jp/it/?p=2", encoding="shift_jis")


# --------------------------------------------------------------------------------------------
def broken_blog():
    url = "https://blog.example/archive/"
    rows, posts = [], []
    months = ["November", "October", "September", "August"]
    for i in range(8):
        t = f"Notes on {WORDS[(i * 2 + 1) % 25]} gardening, part {i + 1}"
        link = f"/2023/{11 - i // 2:02d}/{slug(t)}/"
        date = f"{months[i // 2]} {3 + i}, 2023"
        ex = f"This week the {WORDS[i]} beds needed {['water', 'compost', 'pruning', 'patience'][i % 4]} & a little luck."
        # Unclosed <p>s and <li>, unquoted attributes, misnested inline tags, stray end tags.
        posts.append(f"""<div class=post id=post-{400 + i}>
<h2 class=entry-title><a href={link}>{t}</a></h2>
<div class=entry-meta>Posted on <span class=date>{date}</span></span>
</div>
<p class=excerpt>{esc(ex)}
<p class=more><a href={link}><b><i>Continue reading</b></i> &rarr;</a>
</div>""")
        rows.append({"title": t, "link": urljoin(url, link), "date": date, "excerpt": ex})
    cats = "<ul class=cats><li><a href=/c/veg>Vegetables<li><a href=/c/fruit>Fruit<li><a href=/c/tools>Tools<li><a href=/c/diary>Diary</ul>"
    page = f"""<html><head><title>Archive &mdash; A Garden Blog</title>
<body><div id=header><h1><a href=/>A Garden Blog</a></h1></div>
<div id=content>
{chr(10).join(posts)}
<div class=navigation><a href=/archive/page/2/>&laquo; Older posts</a></div>
</div>
<div id=sidebar><h3>Categories</h3>{cats}
</div>
"""
    write("broken-blog", "blog archive with unclosed tags, unquoted attributes and stray end tags",
          url, "title", rows, page, "https://blog.example/archive/page/2/")


# --------------------------------------------------------------------------------------------
def recipes():
    url = "https://cook.example/recipes/quick-dinners"
    rows, cards = [], []
    dishes = ["Lemon garlic pasta", "Chickpea curry", "Miso salmon", "Halloumi tacos", "Pea risotto",
              "Chicken fajitas", "Tofu stir-fry", "Shakshuka", "Pesto gnocchi"]
    for i, d in enumerate(dishes):
        s = slug(d)
        rating = f"{3.5 + (i % 4) * 0.5:.1f}"
        mins = 15 + (i % 4) * 5
        cards.append(f"""<article class="recipe-card">
  <a href="/recipe/{s}" class="recipe-card__link"><img class="recipe-card__img" src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" data-src="/img/recipes/{s}.webp" alt="{esc(d)}"></a>
  <h3 class="recipe-card__title"><a href="/recipe/{s}">{esc(d)}</a></h3>
  <div class="recipe-card__rating" aria-label="Rated {rating} out of 5" data-rating="{rating}"><span class="star"></span><span class="star"></span><span class="star"></span><span class="star"></span><span class="star"></span></div>
  <span class="recipe-card__time"><time datetime="PT{mins}M">{mins} min</time></span>
</article>""")
        rows.append({"title": d, "link": urljoin(url, f"/recipe/{s}"), "image": f"/img/recipes/{s}.webp",
                     "rating": rating, "time": f"{mins} min"})
    trending = "".join(f'<div class="recipe-card recipe-card--small"><a href="/recipe/trend-{n}">Trending dish {n}</a></div>' for n in range(4))
    page = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>Quick dinners – Cook</title></head>
<body><header class="header"><a href="/">Cook</a><nav class="menu"><a href="/recipes">Recipes</a> <a href="/videos">Videos</a> <a href="/plans">Meal plans</a></nav></header>
<template id="recipe-skeleton"><article class="recipe-card recipe-card--skeleton"><div class="recipe-card__img"></div><h3 class="recipe-card__title">&nbsp;</h3><div class="recipe-card__rating" data-rating="0"></div></article></template>
<main><h1>Quick dinners</h1><p>Dinners on the table in half an hour.</p>
<div class="recipe-grid">
{chr(10).join(cards)}
</div>
<button class="load-more" data-page="2">Load more recipes</button></main>
<aside class="trending"><h3>Trending</h3>{trending}</aside>
</body></html>
"""
    write("recipes", "recipe cards with lazy images, ratings only in attributes, a template and 'Load more'",
          url, "title", rows, page)


# --------------------------------------------------------------------------------------------
def reviews():
    url = "https://negozio.example/prodotto/macchina-caffe/recensioni"
    rows, revs = [], []
    authors = ["Marco R.", "Giulia B.", "Luca P.", "Sara T.", "Paolo M.", "Elena V."]
    titles = ["Ottima macchina", "Buona ma rumorosa", "Caffè perfetto", "Delusa", "Vale il prezzo", "Consigliata"]
    for i in range(6):
        stars = [4, 3, 5, 2, 4, 5][i]
        body = f"Uso la macchina da {i + 2} mesi: {['crema ottima', 'un po rumorosa', 'facile da pulire', 'si è rotta presto', 'buon rapporto qualità prezzo', 'la ricomprerei'][i]}."
        date = f"{12 - i:02d}/03/2024"
        revs.append(f"""<div class="review">
  <div class="review-header"><strong class="review-author">{authors[i]}</strong> <span class="stars" title="{stars} su 5" data-rating="{stars}">{'★' * stars}{'☆' * (5 - stars)}</span></div>
  <h4 class="review-title">{titles[i]}</h4>
  <p class="review-body">{esc(body)}</p>
  <div class="review-footer"><span class="review-date">{date}</span> · <button class="helpful">Utile ({i * 2 + 1})</button></div>
</div>""")
        rows.append({"author": authors[i], "rating": str(stars), "title": titles[i], "body": body, "date": date})
    qa = "".join(f'<div class="qa-item"><p class="q">Domanda {n}?</p><p class="a">Risposta {n}.</p></div>' for n in range(3))
    page = f"""<!DOCTYPE html><html lang="it"><head><meta charset="utf-8"><title>Recensioni: Macchina da caffè – Negozio</title></head>
<body><header><a href="/">Negozio</a></header>
<main><h1>Macchina da caffè Espresso 3000</h1><div class="summary">Media 3,8 su 5 (6 recensioni)</div>
<div class="reviews">
{chr(10).join(revs)}
</div>
<nav aria-label="Paginazione recensioni"><span>1</span> <a href="?pagina=2">Successivo</a></nav>
<section class="qa"><h2>Domande e risposte</h2>{qa}</section></main>
</body></html>
"""
    write("reviews", "Italian product reviews, ratings in attributes, a Q&A look-alike",
          url, "author", rows, page, "https://negozio.example/prodotto/macchina-caffe/recensioni?pagina=2")


# --------------------------------------------------------------------------------------------
def react_app():
    url = "https://tube.example/channel/cooking/videos"
    rows, cards = [], []
    for i in range(8):
        vid = "".join(rnd.choice("abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(11))
        t = f"{title_case(WORDS[(i * 3 + 2) % 25])} {['ramen', 'bread', 'tacos', 'curry'][i % 4]} in {10 + i} minutes"
        dur = f"{8 + i}:{(i * 13) % 60:02d}"
        views = f"{12 + i * 31}K views"
        age = f"{i + 1} {'day' if i == 0 else 'days'} ago"
        cards.append(f"""<div class="VideoCard_card__a7Fq2 sc-dlfnbm fNlcRz">
 <a class="VideoCard_thumb__9Jk2L" href="/watch?v={vid}"><img class="sc-hKgILt gTLZXx" src="https://img.tube.example/vi/{vid}/hq.jpg" alt=""><span class="VideoCard_duration__1Qw8e">{dur}</span></a>
 <div class="VideoCard_meta__Zx8Pq"><h3 class="VideoCard_title__4Rt6Y"><a href="/watch?v={vid}">{t}</a></h3>
 <div class="VideoCard_stats__Lm3Nb"><span>{views}</span><span>{age}</span></div></div>
</div>""")
        rows.append({"title": t, "link": urljoin(url, f"/watch?v={vid}"),
                     "thumbnail": f"https://img.tube.example/vi/{vid}/hq.jpg", "duration": dur,
                     "views": views, "age": age})
    nav = "".join(f'<a class="sc-gsTCUz bhdLno" href="/{x}">{x.capitalize()}</a>' for x in ["", "trending", "subscriptions", "library"])
    page = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>Cooking – Videos – Tube</title>
<link rel="stylesheet" href="/static/css/main.8f3a2c1d.css"></head>
<body><div id="root"><div class="App_shell__x7Fq2">
<header class="Header_bar__2kLmQ"><nav class="sc-bdfBwQ kDdrrV">{nav}</nav></header>
<main class="VideoGrid_grid__3xKq9">
{chr(10).join(cards)}
</main>
<div class="Pager_pager__7Hj3K"><button class="sc-eCssSg kEQvwv" disabled>Previous</button> <a class="sc-eCssSg kEQvwv" href="/channel/cooking/videos?page=2" aria-label="Next page">›</a></div>
</div></div><script src="/static/js/main.4b1c9e2a.js"></script></body></html>
"""
    write("react-app", "video grid with generated class names (CSS modules, styled-components)",
          url, "title", rows, page, "https://tube.example/channel/cooking/videos?page=2")


# --------------------------------------------------------------------------------------------
def hn_like():
    url = "https://news.example.com/news"
    rows, trs = [], []
    users = ["pg", "dang", "tptacek", "patio11", "jacquesm"]
    for i in range(10):
        iid = 39001 + i * 3
        site = ["example.org", "blog.example.net", "github.com", "arxiv.org", "lwn.net"][i % 5]
        t = f"{title_case(WORDS[(i * 4) % 25])} {['compilers', 'databases', 'kernels', 'editors', 'networks'][i % 5]} explained"
        link = f"https://{site}/{slug(t)}"
        pts = f"{40 + i * 23} points"
        user = users[i % 5]
        age = f"{i + 1} hours ago"
        com = f"{5 + i * 9} comments"
        trs.append(f"""<tr class="athing" id="{iid}"><td align="right" valign="top" class="title"><span class="rank">{i + 1}.</span></td><td valign="top" class="votelinks"><center><a id="up_{iid}" href="vote?id={iid}&amp;how=up"><div class="votearrow" title="upvote"></div></a></center></td><td class="title"><span class="titleline"><a href="{link}">{t}</a><span class="sitebit comhead"> (<a href="from?site={site}"><span class="sitestr">{site}</span></a>)</span></span></td></tr>
<tr><td colspan="2"></td><td class="subtext"><span class="subline"><span class="score" id="score_{iid}">{pts}</span> by <a href="user?id={user}" class="hnuser">{user}</a> <span class="age" title="2024-03-12T{10 - i % 9:02d}:00:00"><a href="item?id={iid}">{age}</a></span> | <a href="item?id={iid}">{com}</a></span></td></tr>
<tr class="spacer" style="height:5px"></tr>""")
        rows.append({"title": t, "link": link, "site": site, "points": pts, "user": user, "age": age, "comments": com})
    page = f"""<html lang="en"><head><meta name="referrer" content="origin"><title>News</title></head><body><center><table id="hnmain" border="0" cellpadding="0" cellspacing="0" width="85%" bgcolor="#f6f6ef">
<tr><td bgcolor="#ff6600"><table border="0" cellpadding="0" cellspacing="0" width="100%"><tr><td><span class="pagetop"><b class="hnname"><a href="news">News</a></b> <a href="newest">new</a> | <a href="front">past</a> | <a href="newcomments">comments</a> | <a href="ask">ask</a> | <a href="show">show</a> | <a href="jobs">jobs</a></span></td></tr></table></td></tr>
<tr id="pagespace" title="" style="height:10px"></tr><tr><td><table border="0" cellpadding="0" cellspacing="0" class="itemlist">
{chr(10).join(trs)}
<tr class="morespace" style="height:10px"></tr><tr><td colspan="2"></td><td class="title"><a href="news?p=2" class="morelink" rel="next">More</a></td></tr>
</table></td></tr><tr><td><table width="100%" cellspacing="0" cellpadding="1"><tr><td bgcolor="#ff6600"></td></tr></table><center><span class="yclinks"><a href="newsguidelines.html">Guidelines</a> | <a href="newsfaq.html">FAQ</a> | <a href="lists">Lists</a> | <a href="security.html">Security</a> | <a href="legal">Legal</a></span></center></td></tr></table></center></body></html>
"""
    write("hn-like", "link aggregator whose items span three table rows, with a 'More' link",
          url, "title", rows, page, "https://news.example.com/news?p=2")


# --------------------------------------------------------------------------------------------
def podcast():
    url = "https://podcast.example/episodes"
    rows, lis = [], []
    for i in range(8):
        n = 42 - i
        t = f"{n}: {title_case(WORDS[(i * 6) % 25], 'ideas')} with {['Ada', 'Grace', 'Alan', 'Linus', 'Barbara', 'Ken', 'Dennis', 'Margaret'][i]}"
        link = f"/episodes/{n}-{slug(t.split(': ')[1])}"
        date = f"2024-{3 - i // 4:02d}-{28 - (i % 4) * 7:02d}"
        desc = f"We talk about {WORDS[i]} software, {WORDS[i + 9]} teams and what the next {i + 2} years may bring."
        lis.append(f"""<li><h2><a href="{link}">{esc(t)}</a></h2>
<p><time datetime="{date}">{date}</time> · {50 + i} min</p>
<p>{esc(desc)}</p>
<audio controls preload="none" src="/audio/{n}.mp3"></audio></li>""")
        rows.append({"title": t, "link": urljoin(url, link), "date": date, "description": desc,
                     "audio": urljoin(url, f"/audio/{n}.mp3")})
    archive = "".join(f'<li><a href="/episodes/2024/{m:02d}">2024-{m:02d}</a></li>' for m in range(1, 4)) + \
        "".join(f'<li><a href="/episodes/2023/{m:02d}">2023-{m:02d}</a></li>' for m in range(10, 13))
    page = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Episodes – The Podcast</title></head>
<body><header><nav><ul><li><a href="/">Home</a></li><li><a href="/episodes">Episodes</a></li><li><a href="/about">About</a></li></ul></nav></header>
<main><h1>All episodes</h1>
<ul>
{chr(10).join(lis)}
</ul></main>
<aside><h2>Archive</h2><ul>{archive}</ul></aside>
<footer><p>&copy; 2024 The Podcast</p></footer></body></html>
"""
    write("podcast", "plain semantic HTML without classes: episodes with audio, an archive sidebar",
          url, "title", rows, page)


# --------------------------------------------------------------------------------------------
def wiki_table():
    url = "https://wiki.example/wiki/List_of_tallest_lighthouses"
    data = [("Jeddah Light", "Jeddah", "Saudi Arabia", 133, 1990), ("Île Vierge", "Plouguerneau", "France", 83, 1902),
            ("Yokohama Marine Tower", "Yokohama", "Japan", 106, 1961), ("Lighthouse of Genoa", "Genoa", "Italy", 76, 1543),
            ("Phare de Gatteville", "Gatteville-le-Phare", "France", 75, 1835), ("Baishamen Lighthouse", "Haikou", "China", 73, 2000),
            ("Cape Hatteras Light", "Buxton", "United States", 63, 1870), ("Lange Jaap", "Den Helder", "Netherlands", 63, 1878),
            ("Dornbusch Light", "Hiddensee", "Germany", 28, 1888), ("Tower of Hercules", "A Coruña", "Spain", 55, 190),
            ("Faro de Chipiona", "Chipiona", "Spain", 69, 1867), ("Ponta do Arpoador", "Rio de Janeiro", "Brazil", 32, 1911)]
    rows, trs = [], []
    for name, town, country, h, y in data:
        page_name = name.replace(" ", "_")
        trs.append(f'<tr><th scope="row"><a href="/wiki/{page_name}" title="{esc(name)}">{esc(name)}</a></th>'
                   f'<td><a href="/wiki/{town.replace(" ", "_")}">{esc(town)}</a>, {country}</td><td>{h}</td><td>{y}</td></tr>')
        rows.append({"name": name, "link": urljoin(url, f"/wiki/{page_name}"), "location": f"{town}, {country}",
                     "height": str(h), "year": str(y)})
    refs = "".join(f'<li id="cite_note-{n}"><a href="#cite_ref-{n}">^</a> <span class="reference-text">Lighthouse directory, entry {n * 7}.</span></li>' for n in range(1, 7))
    page = f"""<!DOCTYPE html><html><head><meta charset="UTF-8"><title>List of tallest lighthouses - Wiki</title></head>
<body><div id="mw-page-base"></div><div id="content"><h1 id="firstHeading">List of tallest lighthouses</h1>
<div id="mw-content-text"><p>This is a list of the tallest lighthouses in the world.</p>
<table class="wikitable sortable">
<tbody><tr><th>Name</th><th>Location</th><th>Height (m)</th><th>Year</th></tr>
{chr(10).join(trs)}
</tbody></table>
<h2>References</h2><ol class="references">{refs}</ol>
</div></div>
<div id="mw-navigation"><div id="p-navigation"><ul><li><a href="/wiki/Main_Page">Main page</a></li><li><a href="/wiki/Contents">Contents</a></li><li><a href="/wiki/Random">Random article</a></li><li><a href="/wiki/About">About</a></li></ul></div></div>
</body></html>
"""
    write("wiki-table", "wiki table whose header row sits in the body, with a reference list",
          url, "name", rows, page)


# --------------------------------------------------------------------------------------------
# Designs added after the detector was tuned on the ones above, to measure it on pages it had
# not seen (their first-contact results are in the commit that adds them).
def bootstrap_shop():
    url = "https://candles.example/shop/"
    rows, cols = [], []
    scents = ["Vanilla", "Cedar", "Lavender", "Fig", "Sea salt", "Amber", "Rose", "Pine"]
    for i, sc in enumerate(scents):
        name = f"{sc} candle"
        s = slug(name)
        price = f"${14 + i * 2}.00"
        desc = f"Hand-poured soy candle with {sc.lower()} notes, {30 + i * 5} hours of burn time."
        cols.append(f"""<div class="col">
  <div class="card h-100 shadow-sm">
    <a href="/shop/{s}"><img src="/media/{s}.jpg" class="card-img-top" alt="{esc(name)}"></a>
    <div class="card-body"><h5 class="card-title"><a href="/shop/{s}" class="stretched-link text-reset">{esc(name)}</a></h5>
    <p class="card-text">{esc(desc)}</p></div>
    <div class="card-footer"><small class="text-body-secondary">{price}</small></div>
  </div>
</div>""")
        rows.append({"name": name, "link": urljoin(url, f"/shop/{s}"), "image": urljoin(url, f"/media/{s}.jpg"),
                     "description": desc, "price": price})
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop – Candles</title>
<link href="/css/bootstrap.min.css" rel="stylesheet"></head>
<body><nav class="navbar navbar-expand-lg bg-body-tertiary"><div class="container-fluid"><a class="navbar-brand" href="/">Candles</a>
<ul class="navbar-nav"><li class="nav-item"><a class="nav-link active" href="/shop/">Shop</a></li><li class="nav-item"><a class="nav-link" href="/about">About</a></li><li class="nav-item"><a class="nav-link" href="/contact">Contact</a></li></ul></div></nav>
<div class="container my-5"><h1 class="mb-4">All candles</h1>
<div class="row row-cols-1 row-cols-md-4 g-4">
{chr(10).join(cols)}
</div>
<nav aria-label="Page navigation" class="mt-4"><ul class="pagination justify-content-center">
<li class="page-item disabled"><a class="page-link" aria-label="Previous"><span aria-hidden="true">&laquo;</span></a></li>
<li class="page-item active"><a class="page-link" href="/shop/?page=1">1</a></li>
<li class="page-item"><a class="page-link" href="/shop/?page=2">2</a></li>
<li class="page-item"><a class="page-link" href="/shop/?page=2" aria-label="Next"><span aria-hidden="true">&raquo;</span></a></li>
</ul></nav></div>
<footer class="py-3 my-4 border-top"><ul class="nav justify-content-center"><li class="nav-item"><a href="/faq" class="nav-link px-2">FAQ</a></li><li class="nav-item"><a href="/terms" class="nav-link px-2">Terms</a></li><li class="nav-item"><a href="/privacy" class="nav-link px-2">Privacy</a></li></ul></footer>
</body></html>
"""
    write("bootstrap-shop", "Bootstrap cards in grid columns, a Bootstrap pager with a » link",
          url, "name", rows, page, "https://candles.example/shop/?page=2")


def repo_list():
    url = "https://code.example/orgs/acme/repositories"
    rows, lis = [], []
    langs = ["Rust", "Go", "TypeScript", "Python", "Rust", "C", "Go"]
    for i, lang in enumerate(langs):
        name = f"{WORDS[i * 3 % 25]}-{['cli', 'server', 'sdk', 'docs', 'engine', 'lib', 'tools'][i]}"
        desc = f"The {WORDS[i * 3 % 25]} {['command line', 'API server', 'client SDK', 'documentation', 'core engine', 'C library', 'dev tools'][i]} of Acme."
        stars = f"{(i + 1) * 137}"
        updated = f"2024-03-{20 - i:02d}T10:00:00Z"
        lis.append(f"""<li class="col-12 d-flex flex-justify-between width-full py-4 border-bottom color-border-muted" itemprop="owns" itemscope itemtype="http://schema.org/Code">
<div class="col-10 col-lg-9 d-inline-block"><div class="d-inline-block mb-1"><h3 class="wb-break-all"><a href="/acme/{name}" itemprop="name codeRepository">{name}</a></h3></div>
<div><p class="col-9 d-inline-block color-fg-muted mb-2 pr-4" itemprop="description">{esc(desc)}</p></div>
<div class="f6 color-fg-muted mt-2"><span class="ml-0 mr-3"><span class="repo-language-color"></span> <span itemprop="programmingLanguage">{lang}</span></span>
<a class="Link--muted mr-3" href="/acme/{name}/stargazers"><svg aria-label="star" class="octicon octicon-star" height="16" viewBox="0 0 16 16" width="16"><path d="M8 .25a.75.75 0 0 1 .673.418"></path></svg> {stars}</a>
Updated <relative-time datetime="{updated}" class="no-wrap">Mar {20 - i}, 2024</relative-time></div></div>
</li>""")
        rows.append({"name": name, "link": urljoin(url, f"/acme/{name}"), "description": desc,
                     "language": lang, "stars": stars, "updated": updated})
    page = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Acme · Repositories</title></head>
<body><div class="application-main"><header class="Header"><a class="Header-link" href="/">Code</a> <a class="Header-link" href="/explore">Explore</a> <a class="Header-link" href="/marketplace">Marketplace</a></header>
<nav class="UnderlineNav"><a class="UnderlineNav-item" href="/acme">Overview</a><a class="UnderlineNav-item selected" href="/orgs/acme/repositories">Repositories</a><a class="UnderlineNav-item" href="/orgs/acme/people">People</a></nav>
<div class="container-lg"><div id="org-repositories"><ul data-filterable-for="your-repos-filter" data-filterable-type="substring">
{chr(10).join(lis)}
</ul>
<div class="paginate-container"><div class="pagination"><span class="previous_page disabled">Previous</span> <em class="current">1</em> <a href="/orgs/acme/repositories?page=2">2</a> <a class="next_page" rel="next" href="/orgs/acme/repositories?page=2">Next</a></div></div>
</div></div></div></body></html>
"""
    write("repo-list", "code-hosting repository list in microdata with utility classes",
          url, "name", rows, page, "https://code.example/orgs/acme/repositories?page=2")


def classifieds():
    url = "https://city.classifieds.example/search/bik"
    rows, lis = [], []
    for i in range(9):
        t = f"{title_case(WORDS[(i * 2 + 3) % 25])} {['road bike', 'mountain bike', 'cargo bike'][i % 3]} size {50 + i}"
        pid = 7712000000 + i * 313
        link = f"https://city.classifieds.example/eby/bik/d/{slug(t)}/{pid}.html"
        price = f"${120 + i * 45}"
        loc = ["Oakland", "Berkeley", "San Leandro", "Alameda"][i % 4]
        lis.append(f"""<li class="cl-static-search-result" title="{esc(t)}"><a href="{link}"><div class="title">{esc(t)}</div>
<div class="details"><div class="price">{price}</div><div class="location">{loc}</div></div></a></li>""")
        rows.append({"title": t, "link": link, "price": price, "location": loc})
    page = f"""<!DOCTYPE html><html><head><meta charset="UTF-8"><title>east bay bicycles - classifieds</title></head>
<body><div class="cl-static-header"><a href="/">classifieds</a> &gt; <a href="/search/sss">for sale</a> &gt; bicycles</div>
<ol class="cl-static-search-results">
{chr(10).join(lis)}
</ol>
<div class="cl-static-paginator"><span class="range">1 - 9 of 340</span> <a href="/search/bik?s=120" class="button next">next &gt;</a></div>
<footer><ul class="clfooter"><li><a href="/about/help">help</a></li><li><a href="/about/safety">safety</a></li><li><a href="/about/privacy">privacy</a></li><li><a href="/about/terms">terms</a></li></ul></footer></body></html>
"""
    write("classifieds", "classified ads list whose items are one link each, an offset 'next >' link",
          url, "title", rows, page, "https://city.classifieds.example/search/bik?s=120")


def sports_table():
    url = "https://sport.example/football/league/table"
    teams = ["Rovers", "United", "Athletic", "City", "Wanderers", "Albion", "Rangers", "Town", "Villa", "County",
             "Forest", "Palace", "Orient", "Argyle", "Harriers", "Dynamo"]
    rows, trs = [], []
    for i, t in enumerate(teams):
        pl, w = 30, 20 - i
        d = i % 5
        l = pl - w - d
        pts = w * 3 + d
        s = slug(t)
        trs.append(f'<tr><td class="pos">{i + 1}</td><td class="team"><img src="/crests/{s}.png" alt="" width="16"> <a href="/football/team/{s}">{t}</a></td>'
                   f'<td>{pl}</td><td>{w}</td><td>{d}</td><td>{l}</td><td class="pts"><strong>{pts}</strong></td></tr>')
        rows.append({"team": t, "position": str(i + 1), "link": urljoin(url, f"/football/team/{s}"),
                     "played": str(pl), "won": str(w), "drawn": str(d), "lost": str(l), "points": str(pts)})
    scorers = "".join(f'<tr><td>{n + 1}</td><td><a href="/football/player/p{n}">Player {n}</a></td><td>{20 - n}</td></tr>' for n in range(8))
    page = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>League table – Sport</title></head>
<body><header><nav><a href="/football">Football</a> <a href="/tennis">Tennis</a> <a href="/cricket">Cricket</a></nav></header>
<main><h1>League table</h1>
<table class="table standings"><thead><tr><th>Pos</th><th>Team</th><th>Pl</th><th>W</th><th>D</th><th>L</th><th>Pts</th></tr></thead>
<tbody>{chr(10).join(trs)}</tbody></table>
<h2>Top scorers</h2><table class="table"><thead><tr><th>#</th><th>Player</th><th>Goals</th></tr></thead><tbody>{scorers}</tbody></table>
</main></body></html>
"""
    write("sports-table", "league standings with a smaller look-alike table of scorers",
          url, "team", rows, page)


def hotel_list():
    url = "https://stays.example/search?city=lisbon&checkin=2024-05-10"
    rows, cards = [], []
    names = ["Casa do Rio", "Hotel Alfama", "Baixa Suites", "Lumiar Inn", "Belém Garden", "Chiado Rooms", "Graça View"]
    for i, n in enumerate(names):
        hid = 4400 + i * 9
        price = 89 + i * 20
        score = f"{7.5 + (i % 5) * 0.4:.1f}"
        stars = 3 + i % 3
        s = slug(n)
        cards.append(f"""<div class="hotel-card" data-hotel-id="{hid}">
  <img class="hotel-card__photo" src="https://img.stays.example/{hid}.jpg" alt="{esc(n)}">
  <div class="hotel-card__body"><h3 class="hotel-card__name"><a href="/hotel/{s}?checkin=2024-05-10">{esc(n)}</a></h3>
  <span class="stars stars-{stars}" title="{stars} stars"></span>
  <span class="rating" aria-label="Rated {score} out of 10">{score}</span>
  <p class="hotel-card__area">Lisbon · {['Alfama', 'Baixa', 'Belém', 'Chiado'][i % 4]}</p></div>
  <div class="hotel-card__price"><span class="price" data-price="{price}">€{price}</span> <small>per night</small></div>
</div>""")
        if i == 2:
            cards.append("""<div class="hotel-card hotel-card--sponsored sponsored" data-hotel-id="9999"><span class="label">Sponsored</span>
  <img class="hotel-card__photo" src="https://img.stays.example/9999.jpg" alt=""><div class="hotel-card__body"><h3 class="hotel-card__name"><a href="/hotel/grand-promo">Grand Promo Hotel</a></h3></div>
  <div class="hotel-card__price"><span class="price" data-price="299">€299</span> <small>per night</small></div></div>""")
        rows.append({"name": n, "link": urljoin(url, f"/hotel/{s}?checkin=2024-05-10"),
                     "photo": f"https://img.stays.example/{hid}.jpg", "stars": f"{stars} stars", "rating": score,
                     "area": f"Lisbon · {['Alfama', 'Baixa', 'Belém', 'Chiado'][i % 4]}", "price": f"€{price}"})
    page = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>Hotels in Lisbon – Stays</title></head>
<body><header class="top"><a href="/">Stays</a></header>
<div class="search-layout"><aside class="filters"><h4>Price</h4><ul><li><label><input type="checkbox"> Up to €100</label></li><li><label><input type="checkbox"> €100 – €200</label></li><li><label><input type="checkbox"> €200 +</label></li></ul>
<h4>Stars</h4><ul><li><label><input type="checkbox"> 3 stars</label></li><li><label><input type="checkbox"> 4 stars</label></li><li><label><input type="checkbox"> 5 stars</label></li></ul></aside>
<section class="results"><h1>Lisbon: 212 properties found</h1>
{chr(10).join(cards)}
<div class="pager"><button class="pager__more" data-offset="25">Show more</button> <a class="pager__next" href="/search?city=lisbon&amp;checkin=2024-05-10&amp;page=2">Next page</a></div>
</section></div></body></html>
"""
    write("hotel-list", "hotel results with a sponsored card, ratings in aria-label and stars in a title",
          url, "name", rows, page, "https://stays.example/search?city=lisbon&checkin=2024-05-10&page=2")


def course_catalog():
    url = "https://catalog.uni.example/courses/cs/"
    rows, blocks = [], []
    topics = ["Introduction to Computing", "Data Structures", "Algorithms", "Operating Systems", "Databases",
              "Computer Networks", "Compilers", "Machine Learning", "Computer Graphics", "Security"]
    for i, t in enumerate(topics):
        code = f"CS {101 + i * 10}"
        units = 3 + i % 2
        head = f"{code}. {t}. {units} Units."
        desc = f"Covers the foundations of {t.lower()}, with weekly programming assignments and a final project."
        pre = f"Prerequisite: CS {91 + i * 10}." if i else "Prerequisite: none."
        blocks.append(f"""<div class="courseblock"><p class="courseblocktitle"><strong>{esc(head)}</strong></p>
<p class="courseblockdesc">{esc(desc)}</p><p class="courseblockextra">{esc(pre)}</p></div>""")
        rows.append({"title": head, "description": desc, "prerequisite": pre})
    page = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>Computer Science Courses | Catalog</title></head>
<body><div id="header"><a href="/">University Catalog</a></div>
<div id="col-nav"><ul class="nav levelone"><li><a href="/courses/">Courses A–Z</a><ul class="nav leveltwo"><li><a href="/courses/art/">Art</a></li><li><a href="/courses/bio/">Biology</a></li><li class="active self"><a href="/courses/cs/">Computer Science</a></li><li><a href="/courses/econ/">Economics</a></li><li><a href="/courses/math/">Mathematics</a></li></ul></li></ul></div>
<div id="content"><h1 class="page-title">Computer Science (CS)</h1>
<div class="sc_sccoursedescs">
{chr(10).join(blocks)}
</div></div>
<div id="footer"><p>&copy; 2024 University</p></div></body></html>
"""
    write("course-catalog", "course catalogue of blocks of paragraphs, a nested menu in the sidebar",
          url, "title", rows, page)


if __name__ == "__main__":
    for make in [shop_grid, stock_table, news_list, tailwind_cards, glossary, search_results, forum,
                 directory, job_board, real_estate, events, legacy_shop, jp_news, broken_blog,
                 recipes, reviews, react_app, hn_like, podcast, wiki_table,
                 bootstrap_shop, repo_list, classifieds, sports_table, hotel_list, course_catalog]:
        make()
    print("corpus written")
