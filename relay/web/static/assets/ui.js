// Shared building blocks of the dashboard: DOM helpers, the API client and small widgets.
//
// All text reaches the page through text nodes or attributes (never innerHTML), so whatever a
// user typed is shown as typed.

// ---------------------------------------------------------------------------------------------
// DOM

// Set as properties; everything else is an attribute (so `value`/`checked` of an <input> are its
// defaults and survive form.reset()). A <select>'s value is a property, set after its options.
const PROPERTIES = new Set(["disabled", "hidden", "readOnly", "required", "multiple"]);

/** h("a", {href: "/", class: "x", onclick: fn}, "text", child, [more]) → an element. */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  append(el, children);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (PROPERTIES.has(key) || (key === "value" && tag === "select")) el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  return el;
}

export function append(el, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

// ---------------------------------------------------------------------------------------------
// API client

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

let unauthorizedHandler = null;

/** Called with the ApiError when a request answers 401 (e.g. the session expired). */
export function onUnauthorized(handler) {
  unauthorizedHandler = handler;
}

/** api("GET", "auth/me") → parsed JSON; throws ApiError carrying the server's {"error"}. */
export async function api(method, path, body) {
  const options = {method, credentials: "same-origin", headers: {Accept: "application/json"}};
  if (body instanceof FormData) {
    options.body = body;
  } else if (body !== undefined) {
    options.body = JSON.stringify(body);
    options.headers["Content-Type"] = "application/json";
  }
  let response;
  try {
    response = await fetch("/api/v1/" + path, options);
  } catch {
    throw new ApiError(0, "Cannot reach the relay. Check that it is running and try again.");
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) throw failure(response.status, data, path);
  return data;
}

function failure(status, data, path) {
  const message = data && typeof data.error === "string" && data.error
    ? data.error : `Request failed (HTTP ${status})`;
  const error = new ApiError(status, message);
  if (status === 401 && unauthorizedHandler) unauthorizedHandler(error, path);
  return error;
}

/**
 * POST a FormData with upload progress (fetch has none): onProgress(fraction 0..1) while the
 * body is sent. Resolves to the parsed JSON; rejects with an ApiError like api().
 */
export function apiUpload(path, body, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v1/" + path);
    xhr.setRequestHeader("Accept", "application/json");
    if (onProgress) {
      xhr.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable && event.total) onProgress(event.loaded / event.total);
      });
    }
    xhr.addEventListener("load", () => {
      let data = null;
      try {
        data = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        data = null;
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else reject(failure(xhr.status, data, path));
    });
    xhr.addEventListener("error", () => reject(new ApiError(
      0, "The upload did not reach the relay (it may be too large, or the relay is down).")));
    xhr.send(body);
  });
}

// ---------------------------------------------------------------------------------------------
// Formatting

export function formatDate(iso, fallback = "—") {
  if (!iso) return fallback;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return fallback;
  return date.toLocaleString(undefined, {dateStyle: "medium", timeStyle: "short"});
}

/** 1536 → "1.5 KB"; null → "—". */
export function formatBytes(bytes) {
  if (bytes === null || bytes === undefined || Number.isNaN(Number(bytes))) return "—";
  const units = ["bytes", "KB", "MB", "GB", "TB"];
  let value = Number(bytes);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} ${units[0]}` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export function initials(name) {
  const words = String(name || "?").trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? words[0][0] + words[words.length - 1][0] : (words[0] || "?")[0];
  return letters.toUpperCase();
}

// ---------------------------------------------------------------------------------------------
// Widgets

/** A round picture, or the person's initials when there is none (or it fails to load). */
export function avatar(url, name, size = "md") {
  const fallback = h("span", {class: `avatar avatar-${size} avatar-initials`, "aria-hidden": "true"},
                     initials(name));
  if (!url) return fallback;
  const img = h("img", {class: `avatar avatar-${size}`, src: url, alt: ""});
  img.addEventListener("error", () => img.replaceWith(fallback));
  return img;
}

export function pageHeader(title, subtitle) {
  return h("header", {class: "page-header"},
    h("h1", null, title),
    subtitle ? h("p", {class: "muted"}, subtitle) : null);
}

export function panel(title, ...children) {
  return h("section", {class: "panel"}, title ? h("h2", null, title) : null, ...children);
}

let lastId = 0;

export function uniqueId(prefix = "f") {
  return `${prefix}${++lastId}`;
}

/** A labelled form control; `hint` is a short line under it, announced as its description. */
export function field(label, control, hint) {
  control.id ||= uniqueId();
  const note = hint ? h("small", {class: "hint", id: uniqueId("hint")}, hint) : null;
  if (note) control.setAttribute("aria-describedby", note.id);
  return h("div", {class: "field"},
    h("label", {class: "field-label", for: control.id}, label),
    control,
    note);
}

export function input(name, props = {}) {
  return h("input", {name, type: "text", ...props});
}

export function select(name, options, value, props = {}) {
  return h("select", {name, value, ...props},
    options.map((o) => {
      const {value: v, label} = typeof o === "string" ? {value: o, label: o} : o;
      return h("option", {value: v, selected: v === value}, label);  // the default for reset()
    }));
}

/** A message line: kind is "error" (role=alert) or "ok" (role=status). Hidden while empty. */
export function message(kind = "error") {
  const el = h("p", {class: `message message-${kind}`, role: kind === "error" ? "alert" : "status",
                     hidden: true});
  el.show = (text) => {
    el.textContent = text;
    el.hidden = !text;
  };
  el.hide = () => el.show("");
  return el;
}

/**
 * A form that shows the server's error (or a client-side check) in an alert above its button.
 * onSubmit(formData, form) may return a success text to show; it may throw to show an error.
 */
export function form({submit, onSubmit, className = "", extraActions = []}, ...children) {
  const error = message("error");
  const done = message("ok");
  const button = h("button", {type: "submit", class: "button primary"}, submit);
  const el = h("form", {class: `form ${className}`, novalidate: true},
    ...children, error, done, h("div", {class: "actions"}, button, ...extraActions));
  el.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hide();
    done.hide();
    button.disabled = true;
    try {
      const result = await onSubmit(new FormData(el), el);
      if (typeof result === "string") done.show(result);
    } catch (err) {
      error.show(err.message || String(err));
    } finally {
      button.disabled = false;
    }
  });
  el.showError = error.show;
  return el;
}

/** Throws the usual message when the two password fields differ. */
export function checkPasswordsMatch(data, a = "password", b = "confirm") {
  if (data.get(a) !== data.get(b)) throw new Error("The two passwords do not match");
}

/** Picks the chosen file out of FormData (an empty file input still yields a nameless File). */
export function chosenFile(data, name) {
  const file = data.get(name);
  return file instanceof File && file.size > 0 ? file : null;
}

/**
 * PATCH `path` with a text field and an optional image from a form (multipart), then empty the
 * file input: once saved, the same picture is not sent again.
 */
export async function patchWithImage(path, data, el, textName, fileName) {
  const body = new FormData();
  body.set(textName, data.get(textName));
  const image = chosenFile(data, fileName);
  if (image) body.set(fileName, image);
  await api("PATCH", path, body);
  el.elements[fileName].value = "";
}

/** An image file input that previews the picked image in `preview` (an element to replace). */
export function imagePicker(name, label, current, hint) {
  let preview = current;
  const control = h("input", {type: "file", name, accept: "image/png,image/jpeg"});
  control.addEventListener("change", () => {
    const file = control.files && control.files[0];
    if (!file) return;
    const img = h("img", {class: preview.className.replace("avatar-initials", ""), alt: "",
                          src: URL.createObjectURL(file)});
    preview.replaceWith(img);
    preview = img;
  });
  return h("div", {class: "image-picker"}, current, field(label, control, hint));
}

/** A read-only value with a Copy button (for links and tokens shown once). */
export function copyBox(value, label = "Link") {
  const text = h("input", {type: "text", readOnly: true, value, class: "copy-value",
                           "aria-label": label, spellcheck: "false"});
  text.addEventListener("focus", () => text.select());
  return h("div", {class: "copy-box"}, text, copyButton(value, text));
}

/** A Copy button for `value`; when the clipboard is out of reach it selects `text` instead. */
function copyButton(value, text) {
  const button = h("button", {type: "button", class: "button"}, "Copy");
  button.addEventListener("click", async () => {
    const copied = await copyText(value, text);
    button.textContent = copied ? "Copied" : "Press Ctrl+C to copy";
    if (!copied) text.select();
    setTimeout(() => { button.textContent = "Copy"; }, 2500);
  });
  return button;
}

/** A multi-line read-only text (a config snippet) with a Copy button. */
export function copyBlock(value, label = "Snippet") {
  const text = h("textarea", {readOnly: true, class: "copy-value copy-block-value",
                              "aria-label": label, spellcheck: "false", wrap: "off",
                              rows: String(Math.min(24, value.split("\n").length))}, value);
  return h("div", {class: "copy-block"}, text, h("div", {class: "actions"}, copyButton(value, text)));
}

async function copyText(value, inputEl) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(value);
      return true;
    } catch {
      // fall through: plain http on the LAN has no async clipboard
    }
  }
  try {
    inputEl.focus();
    inputEl.select();
    return document.execCommand("copy");
  } catch {
    return false;
  }
}

/** A modal yes/no question; resolves true when confirmed. */
export function confirmDialog({title, text, confirm = "OK", danger = false}) {
  return new Promise((resolve) => {
    const dialog = h("dialog", {class: "dialog", "aria-label": title});
    const finish = (answer) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    append(dialog, [
      h("h2", null, title),
      text ? h("p", null, text) : null,
      h("div", {class: "actions"},
        h("button", {type: "button", class: "button", onclick: () => finish(false)}, "Cancel"),
        h("button", {type: "button", class: `button ${danger ? "danger-solid" : "primary"}`,
                     onclick: () => finish(true)}, confirm)),
    ]);
    dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      finish(false);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** A modal with one text field; resolves to the trimmed text, or null when cancelled. */
export function promptDialog({title, label, value = "", confirm = "Save"}) {
  return new Promise((resolve) => {
    const dialog = h("dialog", {class: "dialog", "aria-label": title});
    const text = input("value", {value, required: true});
    const finish = (answer) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    const el = h("form", {class: "form", method: "dialog", novalidate: true},
      h("h2", null, title),
      field(label, text),
      h("div", {class: "actions"},
        h("button", {type: "button", class: "button", onclick: () => finish(null)}, "Cancel"),
        h("button", {type: "submit", class: "button primary"}, confirm)));
    el.addEventListener("submit", (event) => {
      event.preventDefault();
      finish(text.value.trim());
    });
    dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      finish(null);
    });
    dialog.append(el);
    document.body.append(dialog);
    dialog.showModal();
    text.select();
  });
}

/** Calls fn once calls stop for `ms` milliseconds (typing in a search box). */
export function debounce(fn, ms = 250) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

const ROLE_RANK = {Viewer: 1, QA: 2, Developer: 3, Admin: 4};

/** hasRole(ctx.me, "QA") → true for QA, Developer and Admin. */
export function hasRole(me, role) {
  return Boolean(me && ROLE_RANK[me.role] >= ROLE_RANK[role]);
}

/** Wraps a table in a scroll container; `rows` are <tr>s, `empty` shows when there are none. */
export function table(headings, rows, empty) {
  if (!rows.length) return h("p", {class: "empty muted"}, empty);
  return h("div", {class: "table-wrap"},
    h("table", null,
      h("thead", null, h("tr", null, headings.map((t) => h("th", {scope: "col"}, t)))),
      h("tbody", null, rows)));
}
