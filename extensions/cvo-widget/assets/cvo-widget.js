/* CVO storefront widget: "frequently bought together" on product pages, add-ons in the cart.
 *
 * No dependencies. Configured by data attributes:
 *   <script src=".../widget.js" data-cvo-api="/apps/cvo" data-cvo-shop="pk_..."
 *           data-cvo-platform="shopify|woocommerce" data-cvo-currency="USD" defer></script>
 *   <div data-cvo-placement="product" data-cvo-product="123" data-cvo-title="..."
 *        data-cvo-limit="3" data-cvo-layout="list|grid"></div>
 *   <div data-cvo-placement="cart" [data-cvo-cart="123,456"]></div>
 * Anything that fails (the API, the cart, storage) leaves the page as it was.
 */
(function () {
  "use strict";
  if (window.__cvoWidget) return;
  window.__cvoWidget = true;

  var script = document.currentScript || document.querySelector("script[data-cvo-api]");
  var conf = (script && script.dataset) || {};
  var api = (conf.cvoApi || "").replace(/\/$/, "");
  var shopKey = conf.cvoShop || "";
  var platform = conf.cvoPlatform || "shopify";
  var root = (window.Shopify && window.Shopify.routes && window.Shopify.routes.root) || conf.cvoRoot || "/";
  var uid = 0;

  function store() {
    try {
      return window.localStorage;
    } catch (e) {
      return null;
    }
  }

  function anonId() {
    var s = store();
    var id = s && s.getItem("cvo_anon");
    if (id && /^[A-Za-z0-9_-]{8,64}$/.test(id)) return id;
    var bytes = new Uint8Array(16);
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    id = "";
    for (var i = 0; i < bytes.length; i++) id += ("0" + bytes[i].toString(16)).slice(-2);
    try {
      if (s) s.setItem("cvo_anon", id);
    } catch (e) {
      /* private mode: an id for this page only */
    }
    return id;
  }

  var anon = anonId();

  function url(path, params) {
    var q = [];
    if (shopKey) q.push("shop=" + encodeURIComponent(shopKey));
    for (var k in params) if (params[k] != null) q.push(k + "=" + encodeURIComponent(params[k]));
    return api + "/" + path + (q.length ? "?" + q.join("&") : "");
  }

  function cents(text) {
    var m = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(String(text || ""));
    if (!m) return 0;
    var c = parseInt(m[2], 10) * 100 + parseInt(((m[3] || "") + "00").slice(0, 2), 10);
    return m[1] ? -c : c;
  }

  function money(c, currency) {
    var amount = c / 100;
    try {
      return new Intl.NumberFormat(document.documentElement.lang || undefined, {
        style: "currency",
        currency: currency || "USD"
      }).format(amount);
    } catch (e) {
      return amount.toFixed(2) + " " + (currency || "");
    }
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = text;
    return node;
  }

  function beacon(events) {
    if (!events.length) return;
    var body = JSON.stringify({ anon: anon, events: events });
    var target = url("events", {});
    try {
      if (navigator.sendBeacon && navigator.sendBeacon(target, body)) return;
      fetch(target, { method: "POST", body: body, keepalive: true, credentials: "omit" }).catch(function () {});
    } catch (e) {
      /* events are best effort */
    }
  }

  function getJSON(target) {
    return fetch(target, { credentials: "omit" }).then(function (r) {
      if (!r.ok) throw new Error("cvo: " + r.status);
      return r.json();
    });
  }

  /* --- carts ----------------------------------------------------------------------------- */

  function shopifyPost(path, body) {
    return fetch(root + path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body)
    }).then(function (r) {
      if (!r.ok) throw new Error("cart " + r.status);
      return r.json();
    });
  }

  var wooBase = (conf.cvoWooApi || "/wp-json/wc/store/v1").replace(/\/$/, "");

  function wooNonce() {
    return fetch(wooBase + "/cart", { credentials: "same-origin" }).then(function (r) {
      return r.headers.get("Nonce") || r.headers.get("X-WC-Store-API-Nonce") || "";
    });
  }

  function addToCart(lines) {
    if (platform === "woocommerce") {
      return wooNonce().then(function (nonce) {
        return fetch(wooBase + "/batch", {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", Nonce: nonce },
          body: JSON.stringify({
            requests: lines.map(function (l) {
              return {
                path: "/wc/store/v1/cart/add-item",
                method: "POST",
                body: { id: Number(l.variant) || l.variant, quantity: l.quantity },
                headers: { Nonce: nonce }
              };
            })
          })
        }).then(function (r) {
          if (!r.ok) throw new Error("cart " + r.status);
          return r.json();
        });
      });
    }
    return shopifyPost("cart/add.js", {
      items: lines.map(function (l) {
        return { id: Number(l.variant) || l.variant, quantity: l.quantity };
      })
    });
  }

  function cartAttributes(arm, added) {
    /* Shopify copies cart attributes onto the order: the visitor's arm (for the measured lift)
       and the products added from the widget (for the attributed revenue). Read from the cart
       itself, so each new cart (after a checkout) gets them again. */
    if (platform !== "shopify") return Promise.resolve();
    return fetch(root + "cart.js", { credentials: "same-origin" })
      .then(function (r) {
        return r.json();
      })
      .then(function (cart) {
        var attrs = cart.attributes || {};
        var have = attrs._cvo_added ? String(attrs._cvo_added).split(",") : [];
        var more = (added || []).filter(function (p) {
          return have.indexOf(p) < 0;
        });
        if (attrs._cvo_arm === arm && attrs._cvo_anon === anon && !more.length) return null;
        var update = { _cvo_arm: arm, _cvo_anon: anon };
        if (more.length) update._cvo_added = have.concat(more).slice(-50).join(",");
        return shopifyPost("cart/update.js", { attributes: update });
      });
  }

  function cartProducts(box) {
    if (box.dataset.cvoCart) return Promise.resolve(box.dataset.cvoCart.split(",").filter(Boolean));
    if (platform === "woocommerce") {
      return getJSON(wooBase + "/cart").then(function (c) {
        return (c.items || []).map(function (i) {
          return String(i.id);
        });
      });
    }
    return fetch(root + "cart.js", { credentials: "same-origin" })
      .then(function (r) {
        return r.json();
      })
      .then(function (c) {
        return (c.items || []).map(function (i) {
          return String(i.product_id);
        });
      });
  }

  /* --- rendering ------------------------------------------------------------------------- */

  var CSS =
    ".cvo-w{font:inherit;color:inherit;margin:1.5em 0}" +
    ".cvo-w h2{font:inherit;font-size:1.2em;font-weight:600;margin:0 0 .6em}" +
    ".cvo-w ul{list-style:none;margin:0;padding:0;display:grid;gap:.6em}" +
    ".cvo-w.cvo-grid ul{grid-template-columns:repeat(auto-fill,minmax(9em,1fr))}" +
    ".cvo-w li{display:flex;gap:.6em;align-items:center;padding:.5em;border:1px solid;" +
    "border-color:color-mix(in srgb,currentColor 20%,transparent);border-radius:.4em}" +
    ".cvo-w.cvo-grid li{flex-direction:column;align-items:flex-start}" +
    ".cvo-w img{width:4em;height:4em;object-fit:cover;border-radius:.3em}" +
    ".cvo-w label{flex:1;cursor:pointer}" +
    ".cvo-w input{width:1.1em;height:1.1em;accent-color:currentColor}" +
    ".cvo-w s{opacity:.6;margin-left:.4em}" +
    ".cvo-w .cvo-foot{display:flex;flex-wrap:wrap;gap:1em;align-items:center;margin-top:.8em}" +
    ".cvo-w button{font:inherit;cursor:pointer}" +
    ".cvo-w button[disabled]{opacity:.5;cursor:default}" +
    ".cvo-w :focus-visible{outline:2px solid currentColor;outline-offset:2px}";

  function style() {
    if (document.getElementById("cvo-style")) return;
    var tag = el("style");
    tag.id = "cvo-style";
    tag.textContent = CSS;
    document.head.appendChild(tag);
  }

  function render(box, data) {
    var placement = data.placement;
    var currency = data.currency;
    var n = ++uid;
    var rows = [];
    if (data.product && data.product.available) rows.push({ item: data.product, self: true });
    data.items.forEach(function (item) {
      if (item.available && item.variant_id) rows.push({ item: item, self: false });
    });
    if (rows.length < (placement === "product" ? 2 : 1)) return;

    style();
    var section = el("section", "cvo-w" + (box.dataset.cvoLayout === "grid" ? " cvo-grid" : ""));
    var headingId = "cvo-h-" + n;
    section.setAttribute("aria-labelledby", headingId);
    var defaultTitle = placement === "product" ? "Frequently bought together" : "You may also like";
    var heading = el("h2", null, box.dataset.cvoTitle || defaultTitle);
    heading.id = headingId;
    section.appendChild(heading);
    var list = el("ul");
    var total = el("strong");
    var button = el("button", "cvo-add button");
    button.type = "button";
    var status = el("p", "cvo-status");
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");

    rows.forEach(function (row, i) {
      var item = row.item;
      var li = el("li", "cvo-item");
      li.setAttribute("data-product-id", item.product_id);
      var box1 = el("input");
      box1.type = "checkbox";
      box1.checked = true;
      box1.id = "cvo-" + n + "-" + i;
      box1.value = item.variant_id;
      box1.setAttribute("data-price", item.price || "0");
      row.input = box1;
      li.appendChild(box1);
      if (item.image_url) {
        var img = el("img");
        img.src = item.image_url;
        img.alt = "";
        img.loading = "lazy";
        li.appendChild(img);
      }
      var label = el("label");
      label.htmlFor = box1.id;
      label.appendChild(el("span", "cvo-name", (row.self ? "This item: " : "") + item.title));
      label.appendChild(document.createTextNode(" "));
      label.appendChild(el("span", "cvo-price", money(cents(item.price), currency)));
      if (item.compare_at_price && cents(item.compare_at_price) > cents(item.price)) {
        var was = el("s", null, money(cents(item.compare_at_price), currency));
        was.setAttribute("aria-label", "was " + was.textContent);
        label.appendChild(was);
      }
      li.appendChild(label);
      if (item.url && !row.self) {
        var link = el("a", "cvo-link", "View");
        /* Store-relative links follow the locale root (Shopify) or the storefront's base. */
        link.href = item.url.charAt(0) === "/" && item.url.charAt(1) !== "/" ? root + item.url.slice(1) : item.url;
        link.setAttribute("aria-label", "View " + item.title);
        link.addEventListener("click", function () {
          beacon([{ kind: "click", placement: placement, source: data.source, product: item.product_id }]);
        });
        li.appendChild(link);
      }
      list.appendChild(li);
    });
    section.appendChild(list);

    var foot = el("div", "cvo-foot");
    var totalLine = el("p", "cvo-total");
    totalLine.setAttribute("aria-live", "polite");
    totalLine.appendChild(document.createTextNode("Total: "));
    totalLine.appendChild(total);
    foot.appendChild(totalLine);
    foot.appendChild(button);
    section.appendChild(foot);
    section.appendChild(status);

    function chosen() {
      return rows.filter(function (r) {
        return r.input.checked;
      });
    }

    function update() {
      var picked = chosen();
      var sum = 0;
      picked.forEach(function (r) {
        sum += cents(r.item.price);
      });
      total.textContent = money(sum, currency);
      button.disabled = picked.length === 0;
      button.textContent =
        picked.length === rows.length && rows.length > 1
          ? "Add all " + rows.length + " to cart"
          : "Add " + picked.length + " to cart";
    }

    list.addEventListener("change", update);
    button.addEventListener("click", function () {
      var picked = chosen();
      if (!picked.length) return;
      button.disabled = true;
      status.textContent = "Adding to cart…";
      var lines = picked.map(function (r) {
        return { variant: r.item.variant_id, quantity: 1 };
      });
      var added = picked
        .filter(function (r) {
          return !r.self;
        })
        .map(function (r) {
          return r.item.product_id;
        });
      addToCart(lines)
        .then(function () {
          status.textContent = "Added to cart.";
          beacon(
            added.map(function (p) {
              return { kind: "add_to_cart", placement: placement, source: data.source, product: p };
            })
          );
          document.dispatchEvent(new CustomEvent("cvo:cart-added", { detail: { lines: lines } }));
          return cartAttributes("exposed", added)
            .catch(function () {})
            .then(function () {
              if (box.dataset.cvoAfterAdd === "reload") window.location.reload();
            });
        })
        .catch(function () {
          status.textContent = "Could not add to cart. Please try again.";
        })
        .then(update);
    });

    update();
    box.textContent = "";
    box.appendChild(section);
    beacon(
      rows
        .filter(function (r) {
          return !r.self;
        })
        .map(function (r) {
          return { kind: "impression", placement: placement, source: data.source, product: r.item.product_id };
        })
    );
  }

  function place(box) {
    /* An app embed renders at the end of the page: move it after the element it names. */
    var anchor = null;
    try {
      anchor = box.dataset.cvoAnchor && document.querySelector(box.dataset.cvoAnchor);
    } catch (e) {
      anchor = null;
    }
    if (anchor && anchor.parentNode) anchor.parentNode.insertBefore(box, anchor.nextSibling);
  }

  function load(box) {
    var placement = box.dataset.cvoPlacement || "product";
    place(box);
    var ids = placement === "cart" ? cartProducts(box) : Promise.resolve([box.dataset.cvoProduct]);
    return ids
      .then(function (products) {
        products = products.filter(Boolean);
        if (!products.length) return null;
        var params = { anon: anon, limit: box.dataset.cvoLimit || null };
        if (placement === "cart") params.cart = products.join(",");
        else params.product_id = products[0];
        return getJSON(url("recommendations", params)).then(function (data) {
          data.source = placement === "product" ? products[0] : null;
          return data;
        });
      })
      .then(function (data) {
        if (!data) return;
        if (data.enabled) cartAttributes(data.arm, null).catch(function () {});
        if (data.enabled && data.arm === "exposed" && data.items && data.items.length) render(box, data);
      })
      .catch(function () {
        /* the API or the cart failed: leave the page as it is */
      });
  }

  function start() {
    var boxes = document.querySelectorAll("[data-cvo-placement]");
    for (var i = 0; i < boxes.length; i++) {
      try {
        load(boxes[i]);
      } catch (e) {
        /* never break the page */
      }
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
