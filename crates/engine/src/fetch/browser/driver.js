// Runs inside the page, one call per operation (`ready`, `scroll`, `click`), through
// Runtime.evaluate with awaitPromise: one round trip per operation, and the page's HTML comes
// back with the answer. Nothing is left behind in the page (no globals, no listeners).
//
// Options `o` (from tab.rs): items {selector, xpath} or null, next {selector, xpath} or null,
// budgetMs, settleMs, quietMs, pollMs, waitMs, maxNodes, maxChars.
async (op, o) => {
  const doc = document;
  const now = () => performance.now();
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  // Elements matched by a selector, or null when this browser cannot evaluate it (readiness
  // then falls back to the quiet rule, and extraction still uses the engine's own selector).
  const all = (sel) => {
    if (!sel) return [];
    try {
      if (sel.xpath) {
        const r = doc.evaluate(sel.selector, doc, null, XPathResult.ORDERED_NODE_SNAPSHOT_TYPE, null);
        const out = [];
        for (let i = 0; i < r.snapshotLength; i++) out.push(r.snapshotItem(i));
        return out;
      }
      return Array.from(doc.querySelectorAll(sel.selector));
    } catch (e) {
      return null;
    }
  };
  const count = () => {
    if (!o.items) return 0;
    try {
      if (o.items.xpath) {
        return doc.evaluate('count(' + o.items.selector + ')', doc, null, XPathResult.NUMBER_TYPE, null).numberValue;
      }
      return doc.querySelectorAll(o.items.selector).length;
    } catch (e) {
      return -1;
    }
  };
  const element = (node) => {
    if (!node) return null;
    if (node.nodeType === Node.ELEMENT_NODE) return node;
    if (node.nodeType === Node.ATTRIBUTE_NODE) return node.ownerElement;
    return node.parentElement;
  };

  // "Quiet" means no DOM change and no new finished request for a while.
  let last = now();
  const observer = new MutationObserver(() => { last = now(); });
  observer.observe(doc, { subtree: true, childList: true, characterData: true });
  let requests = performance.getEntriesByType('resource').length;
  const lastActivity = () => {
    const n = performance.getEntriesByType('resource').length;
    if (n !== requests) { requests = n; last = now(); }
    return last;
  };
  const settle = async (deadline) => {
    while (now() < deadline && now() - lastActivity() < o.settleMs) await sleep(o.pollMs);
  };

  const snapshot = (reason) => {
    const nodes = doc.getElementsByTagName('*').length;
    const nav = performance.getEntriesByType('navigation')[0];
    const out = {
      reason,
      url: location.href,
      status: nav && nav.responseStatus ? nav.responseStatus : 0,
      nodes,
      matched: count(),
      html: null,
      tooLarge: null,
    };
    if (nodes > o.maxNodes) { out.tooLarge = 'nodes'; return out; }
    const doctype = doc.doctype ? new XMLSerializer().serializeToString(doc.doctype) : '';
    const html = doctype + (doc.documentElement ? doc.documentElement.outerHTML : '');
    // UTF-16 units never exceed UTF-8 bytes, so this refuses nothing the byte limit allows.
    if (html.length > o.maxChars) { out.tooLarge = 'bytes'; return out; }
    out.html = html;
    return out;
  };

  // Ready: the item selector matches once the document is parsed and the DOM has settled, or
  // (when it never matches) `load` has fired and the page has been quiet for quietMs.
  const ready = async () => {
    const deadline = now() + o.budgetMs;
    while (now() < deadline) {
      const idle = now() - lastActivity();
      const n = count();
      if (doc.readyState !== 'loading' && n > 0 && idle >= o.settleMs) return snapshot('matched');
      if (doc.readyState === 'complete' && idle >= o.quietMs) return snapshot(n > 0 ? 'matched' : 'quiet');
      await sleep(o.pollMs);
    }
    return snapshot('timeout');
  };

  // One scroll: to the last item and to the bottom, wait waitMs, let a batch still arriving
  // finish, and send the page back only when there are more items than before.
  const scroll = async () => {
    const before = count();
    const items = all(o.items);
    if (items && items.length) {
      const lastItem = element(items[items.length - 1]);
      if (lastItem) lastItem.scrollIntoView({ block: 'end' });
    }
    const root = doc.scrollingElement || doc.documentElement;
    window.scrollTo(0, root.scrollHeight);
    await sleep(o.waitMs);
    await settle(now() + o.budgetMs);
    const after = count();
    return { before, after, page: after > before ? snapshot('matched') : null };
  };

  // A click on the next button, as a person would; the answer once the items changed. A click
  // that starts a real navigation ends this call with the page (tab.rs then waits for the next).
  const signature = () => {
    const items = all(o.items) || [];
    const text = (node) => (node ? (node.textContent || '').slice(0, 200) : '');
    return [location.href, items.length, text(items[0]), text(items[items.length - 1])].join('\u0000');
  };
  const click = async () => {
    const found = all(o.next);
    const target = found && found.length ? element(found[0]) : null;
    if (!target) return { outcome: 'none' };
    const before = signature();
    target.scrollIntoView({ block: 'center' });
    target.click();
    const deadline = now() + o.budgetMs;
    while (now() < deadline) {
      await sleep(o.pollMs);
      if (signature() !== before) {
        await settle(deadline);
        return { outcome: 'changed', page: snapshot('matched') };
      }
    }
    return { outcome: 'unchanged' };
  };

  try {
    if (op === 'ready') return await ready();
    if (op === 'scroll') return await scroll();
    if (op === 'click') return await click();
    throw new Error('unknown operation ' + op);
  } finally {
    observer.disconnect();
  }
}
