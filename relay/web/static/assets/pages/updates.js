// Over the air: each app's web bundles and their releases to channels (the OtaKit API under
// /api/v1/apps/:appId/…), the Capacitor plugin configuration to copy, and — for Developers and
// Admins — releasing a bundle, reverting a lane's current release and deleting bundles.
//
// A lane is app + channel + runtime version; its current release is its newest release that was
// not reverted (that is what the relay serves; see relay/core/ota/releases.py). The release
// history carries no "current" flag, so the page reads the whole history to work it out.

import {api, append, clear, confirmDialog, copyBlock, copyBox, field, form, formatBytes,
        formatDate, h, hasRole, input, message, pageHeader, panel, table, uniqueId} from "../ui.js";
import {appIcon} from "./builds.js";

const PAGE_SIZE = 20;
const HISTORY_PAGE = 100;  // the API's largest page
const EVENTS = [  // device events, as counted per release
  {key: "downloaded", label: "downloaded", title: "Downloads"},
  {key: "download_error", label: "errors", title: "Download errors"},
  {key: "applied", label: "applied", title: "Applied on devices"},
  {key: "rollback", label: "rollbacks", title: "Rolled back on devices"},
];
const ALL = "";
const BASE = "base";  // a reserved channel name, so it cannot clash with a real channel

// ---------------------------------------------------------------------------------------------
// Small shared pieces

function channelName(channel) {
  return channel || "base";
}

function channelChip(channel) {
  return h("span", {class: "chip channel-chip" + (channel ? "" : " channel-base")},
           channelName(channel));
}

function laneKey(release) {
  return JSON.stringify([release.channel || null, release.runtimeVersion || null]);
}

/** "staging" or "staging · runtime 2026.04": how people name a lane. */
function laneText(release) {
  const channel = release.channel ? `the ${release.channel} channel` : "the base channel";
  return release.runtimeVersion ? `${channel} (runtime ${release.runtimeVersion})` : channel;
}

function ok(text) {
  return h("p", {class: "message message-ok", role: "status"}, text);
}

/** The apps the relay knows; an app is found by its integer id or its UUID. */
async function loadApps() {
  return (await api("GET", "apps")).items;
}

/** GET /ota/keys.json (public, outside /api/v1) → [{kid, key}]. */
async function manifestKeys() {
  let response;
  try {
    response = await fetch("/ota/keys.json", {headers: {Accept: "application/json"},
                                              credentials: "same-origin"});
  } catch {
    throw new Error("Cannot reach the relay. Check that it is running and try again.");
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    throw new Error(data && typeof data.error === "string" ? data.error
      : `Request failed (HTTP ${response.status})`);
  }
  return Array.isArray(data) ? data : [];
}

function pluginSnippet(app, keys, publicUrl) {
  const q = (value) => JSON.stringify(String(value));
  // The relay's public URL is what manifests name; the browser's own address is the fallback.
  const origin = publicUrl || location.origin;
  const keyLines = keys.length
    ? keys.map((k) => `      { kid: ${q(k.kid)}, key: ${q(k.key)} },`)
    : ["      // the public key printed by `relay ota-keys`"];
  const local = ["localhost", "127.0.0.1", "[::1]"].includes(location.hostname);
  return [
    "plugins: {",
    "  OtaKit: {",
    `    appId: ${q(app.uuid)},`,
    `    cdnUrl: ${q(origin + "/ota")},`,
    `    ingestUrl: ${q(origin + "/api/v1/ota")},`,
    "    manifestKeys: [",
    ...keyLines,
    "    ],",
    '    // channel: "staging",',
    '    // runtimeVersion: "2026.04",',
    location.protocol === "http:"
      ? `    ${local ? "" : "// "}allowInsecureUrls: true,  // only for http://localhost during development`
      : null,
    "  }",
    "}",
  ].filter((line) => line !== null).join("\n");
}

/** A table (ui.js) in this page's compact style. */
function otaTable(headings, rows, empty) {
  const el = table(headings, rows, empty);
  el.classList.add("ota-table");
  return el;
}

/** Previous / Page n of m / Next under a table; `onPage(page)` loads another page. */
function renderPager(pager, page, pages, onPage) {
  clear(pager);
  if (pages <= 1) return;
  pager.append(
    h("button", {type: "button", class: "button", disabled: page === 0,
                 onclick: () => onPage(page - 1)}, "← Previous"),
    h("span", {class: "muted"}, `Page ${page + 1} of ${pages}`),
    h("button", {type: "button", class: "button", disabled: page >= pages - 1,
                 onclick: () => onPage(page + 1)}, "Next →"));
}

// ---------------------------------------------------------------------------------------------
// All apps

export async function updatesPage(main) {
  const list = h("div");
  append(main, [
    pageHeader("Updates", "Web bundles the Capacitor apps download over the air, and what is " +
                          "released to each channel."),
    panel("Apps", list)]);

  const apps = await loadApps();
  // One small request per app for its bundle count and newest bundle (teams have few apps).
  const summaries = await Promise.all(apps.map((app) =>
    api("GET", `apps/${app.id}/bundles?limit=1`).catch(() => null)));
  clear(list).append(table(
    ["App", "App ID (UUID)", "Bundles", ""],
    apps.map((app, i) => {
      const summary = summaries[i];
      return h("tr", {"data-app-id": app.id},
        h("td", null,
          h("div", {class: "app-cell"},
            appIcon(app.icon_url, app.name),
            h("div", {class: "app-cell-text"},
              h("a", {class: "strong", href: `/updates/${app.id}`}, app.name),
              h("div", {class: "muted small mono"}, app.bundle_id_key)))),
        h("td", {class: "mono small"}, app.uuid),
        h("td", null, !summary ? h("span", {class: "muted"}, "—")
          : summary.total === 0 ? h("span", {class: "muted"}, "No bundles yet")
          : h("div", null,
              `${summary.total} bundle${summary.total === 1 ? "" : "s"}`,
              h("div", {class: "muted small"}, `newest ${summary.bundles[0].version}`))),
        h("td", {class: "row-actions"},
          h("a", {class: "button", href: `/updates/${app.id}`,
                  "aria-label": `Updates of ${app.name}`}, "Updates")));
    }),
    "No apps yet. Create one with the OtaKit CLI (or on the Apps page) and upload a bundle."));
}

// ---------------------------------------------------------------------------------------------
// One app

export async function appUpdatesPage(main, ctx) {
  const ref = ctx.match[1].toLowerCase();
  const canRelease = hasRole(ctx.me, "Developer");
  const back = h("a", {class: "back", href: "/updates"}, "← All apps");

  const app = (await loadApps()).find((a) => String(a.id) === ref || a.uuid === ref);
  if (!app) {
    main.append(back, pageHeader("App not found"),
                h("p", {class: "message message-error", role: "alert"}, "App not found"));
    return;
  }
  document.title = `${app.name} · Updates · ${ctx.settings?.team_name || "Relay"}`;
  const base = `apps/${app.id}`;

  const state = {
    bundlePage: 0,
    historyPage: 0,
    channel: ctx.params.has("channel") ? (ctx.params.get("channel") || BASE) : ALL,
    releases: [],          // the whole history, newest first
    current: new Map(),    // lane key → its current release
  };
  let bundleLoads = 0;
  let historyLoads = 0;

  // -- plugin configuration

  const keysError = message("error");
  const snippet = h("div");
  const configPanel = panel("Plugin configuration",
    h("div", {class: "field"},
      h("span", {class: "field-label"}, "App ID"),
      copyBox(app.uuid, "App ID"),
      h("small", {class: "hint"}, "The app's UUID: the appId for the OtaKit CLI and the Capacitor plugin.")),
    h("p", {class: "muted config-note"},
      "Paste this into capacitor.config.ts. Devices fetch signed manifests and bundles " +
      "from cdnUrl and report events to ingestUrl."),
    keysError, snippet,
    location.protocol === "http:"
      ? h("p", {class: "hint"}, "The plugin accepts plain http:// only for localhost with " +
          "allowInsecureUrls. For real devices, serve Relay over https:// (a reverse proxy) and " +
          "set its public URL.")
      : null);

  async function loadSnippet() {
    let keys = [];
    try {
      keys = await manifestKeys();
    } catch (error) {
      keysError.show(`Could not read the signing key: ${error.message}`);
    }
    clear(snippet).append(copyBlock(pluginSnippet(app, keys, ctx.settings?.public_url),
                                    "Plugin configuration"));
  }

  // -- bundles

  const bundleList = h("div");
  const bundleTotal = h("span", {class: "muted", role: "status"});
  const bundleError = message("error");
  const bundleResult = h("div", {class: "result", hidden: true});
  const bundlePager = h("nav", {class: "pager", "aria-label": "Bundle pages"});

  function showBundleResult(text) {
    clear(bundleResult).append(ok(text));
    bundleResult.hidden = false;
  }

  async function loadBundles() {
    const mine = ++bundleLoads;
    let data;
    try {
      data = await api("GET", `${base}/bundles?limit=${PAGE_SIZE}&offset=${state.bundlePage * PAGE_SIZE}`);
    } catch (error) {
      if (mine === bundleLoads) bundleError.show(error.message);
      return;
    }
    if (mine !== bundleLoads || !bundleList.isConnected) return;
    const pages = Math.max(1, Math.ceil(data.total / PAGE_SIZE));
    if (state.bundlePage >= pages && state.bundlePage > 0) {  // the last one of a page went
      state.bundlePage = pages - 1;
      return loadBundles();
    }
    bundleTotal.textContent = data.total === 1 ? "1 bundle" : data.total ? `${data.total} bundles` : "";
    renderBundles(data.bundles);
    renderPager(bundlePager, state.bundlePage, pages, (page) => {
      state.bundlePage = page;
      loadBundles();
    });
  }

  function renderBundles(bundles) {
    clear(bundleList).append(otaTable(
      ["Version", "Size", "Runtime", "Min native build", "Created", "Live on",
       canRelease ? h("span", {class: "visually-hidden"}, "Actions") : null].filter(Boolean),
      bundles.map(bundleRow),
      canRelease
        ? "No bundles yet. Upload one with the OtaKit CLI and a token with the ota:write scope."
        : "No bundles yet."));
  }

  function liveLanes(bundle) {
    return [...state.current.values()].filter((r) => r.bundleId === bundle.id);
  }

  function bundleRow(bundle) {
    const live = liveLanes(bundle);
    return h("tr", {"data-bundle-id": bundle.id},
      h("td", {class: "nowrap"},
        h("span", {class: "strong", title: `SHA-256 ${bundle.sha256}`}, bundle.version)),
      h("td", {class: "nowrap"}, formatBytes(bundle.size)),
      h("td", null, bundle.runtimeVersion || h("span", {class: "muted"}, "—")),
      h("td", null, bundle.minNativeBuild ?? h("span", {class: "muted"}, "—")),
      h("td", {class: "nowrap"}, formatDate(bundle.createdAt)),
      h("td", null, live.length ? live.map((r) => channelChip(r.channel))
                                : h("span", {class: "muted"}, "—")),
      canRelease ? h("td", {class: "row-actions"},
        h("button", {type: "button", class: "button",
                     onclick: () => releaseBundle(bundle)}, "Release…"),
        h("button", {type: "button", class: "button danger",
                     onclick: () => removeBundle(bundle)}, "Delete")) : null);
  }

  function knownChannels() {
    return [...new Set(state.releases.map((r) => r.channel).filter(Boolean))].sort();
  }

  async function releaseBundle(bundle) {
    bundleError.hide();
    bundleResult.hidden = true;
    const result = await releaseDialog(bundle, knownChannels());
    if (!result) return;
    const {release, previousRelease} = result;
    showBundleResult(`Released ${release.bundleVersion} to ${laneText(release)}.` +
      (previousRelease ? ` It replaces ${previousRelease.bundleVersion}.` : ""));
    await refresh();
  }

  function releaseDialog(bundle, channels) {
    return new Promise((resolve) => {
      const title = `Release ${bundle.version}`;
      const dialog = h("dialog", {class: "dialog", "aria-label": title});
      const finish = (answer) => {
        dialog.close();
        dialog.remove();
        resolve(answer);
      };
      const listId = uniqueId("channels");
      const channel = input("channel", {placeholder: "base", list: listId, autocomplete: "off",
                                        spellcheck: "false", maxlength: "64"});
      const el = form({
        submit: "Release",
        className: "release-form",
        extraActions: [h("button", {type: "button", class: "button",
                                    onclick: () => finish(null)}, "Cancel")],
        onSubmit: async (data) => {
          const body = {bundleId: bundle.id, forceImmediate: data.get("forceImmediate") === "on"};
          const name = String(data.get("channel") || "").trim();
          if (name) body.channel = name;
          finish(await api("POST", `${base}/releases`, body));
        },
      },
      h("h2", null, title),
      h("p", null, bundle.runtimeVersion
        ? `Devices on runtime ${bundle.runtimeVersion} that follow the chosen channel get this bundle.`
        : "Devices that follow the chosen channel (and set no runtime version) get this bundle."),
      field("Channel", channel, "Leave blank for the base channel."),
      h("datalist", {id: listId}, channels.map((c) => h("option", {value: c}))),
      h("label", {class: "check"},
        h("input", {type: "checkbox", name: "forceImmediate"}),
        h("span", null, "Apply immediately ",
          h("span", {class: "muted"}, "(forceImmediate: devices switch as soon as it is downloaded)"))));
      dialog.append(el);
      dialog.addEventListener("cancel", (event) => {
        event.preventDefault();
        finish(null);
      });
      document.body.append(dialog);
      dialog.showModal();
      channel.focus();
    });
  }

  async function removeBundle(bundle) {
    bundleError.hide();
    bundleResult.hidden = true;
    const sure = await confirmDialog({
      title: `Delete bundle ${bundle.version}?`,
      text: "Its zip is deleted from the relay. A bundle that was ever released stays in the " +
            "release history and cannot be deleted.",
      confirm: "Delete bundle", danger: true,
    });
    if (!sure) return;
    try {
      await api("DELETE", `${base}/bundles/${bundle.id}`);
      showBundleResult(`Bundle ${bundle.version} was deleted.`);
      await loadBundles();
    } catch (error) {
      bundleError.show(error.message);
    }
  }

  // -- release history

  const historyList = h("div");
  const historyError = message("error");
  const historyResult = h("div", {class: "result", hidden: true});
  const historyPager = h("nav", {class: "pager", "aria-label": "Release pages"});
  const channelFilter = h("select", {name: "channel", class: "compact", "aria-label": "Channel"});
  const refreshButton = h("button", {type: "button", class: "button", onclick: () => {
    historyResult.hidden = true;
    refresh();
  }}, "Refresh");

  channelFilter.addEventListener("change", () => {
    state.channel = channelFilter.value;
    state.historyPage = 0;
    const qs = new URLSearchParams(location.search);
    if (state.channel === ALL) qs.delete("channel");
    else qs.set("channel", state.channel);
    history.replaceState(null, "", location.pathname + (qs.toString() ? `?${qs}` : ""));
    renderHistory();
  });

  function fillChannelFilter() {
    const names = knownChannels();
    if (![ALL, BASE, ...names].includes(state.channel)) names.push(state.channel);
    clear(channelFilter).append(
      h("option", {value: ALL}, "All channels"),
      h("option", {value: BASE}, "Base channel"),
      ...names.map((name) => h("option", {value: name}, name)));
    channelFilter.value = state.channel;
  }

  async function loadHistory() {
    const releases = [];
    for (let offset = 0; ; offset += HISTORY_PAGE) {
      const data = await api("GET", `${base}/releases?limit=${HISTORY_PAGE}&offset=${offset}`);
      releases.push(...data.releases);
      if (!data.releases.length || releases.length >= data.total) break;
    }
    const current = new Map();
    for (const r of releases) {  // newest first: a lane's first live release is its current one
      if (!r.revertedAt && !current.has(laneKey(r))) current.set(laneKey(r), r);
    }
    return {releases, current};
  }

  function shownReleases() {
    if (state.channel === ALL) return state.releases;
    const wanted = state.channel === BASE ? null : state.channel;
    return state.releases.filter((r) => (r.channel || null) === wanted);
  }

  function renderHistory() {
    const rows = shownReleases();
    const pages = Math.max(1, Math.ceil(rows.length / PAGE_SIZE));
    state.historyPage = Math.min(state.historyPage, pages - 1);
    const from = state.historyPage * PAGE_SIZE;
    clear(historyList).append(otaTable(
      ["Channel", "Runtime", "Version", "Promoted", "Status", "Device events",
       canRelease ? h("span", {class: "visually-hidden"}, "Actions") : null].filter(Boolean),
      rows.slice(from, from + PAGE_SIZE).map(releaseRow),
      state.releases.length ? "No releases on this channel." : "Nothing released yet."));
    renderPager(historyPager, state.historyPage, pages, (page) => {
      state.historyPage = page;
      renderHistory();
    });
  }

  function isCurrent(release) {
    return state.current.get(laneKey(release))?.id === release.id;
  }

  function releaseStatus(release) {
    if (release.revertedAt) {
      return h("span", {class: "status status-reverted", title: `Reverted ${formatDate(release.revertedAt)}`},
               "Reverted");
    }
    if (isCurrent(release)) return h("span", {class: "status status-current"}, "Current");
    return h("span", {class: "status status-none"}, "Replaced");
  }

  function releaseRow(release) {
    const counts = release.eventCounts || {};
    return h("tr", {"data-release-id": release.id},
      h("td", null, channelChip(release.channel)),
      h("td", null, release.runtimeVersion || h("span", {class: "muted"}, "—")),
      h("td", null,
        h("span", {class: "strong nowrap"}, release.bundleVersion),
        release.forceImmediate ? h("span", {class: "chip label-chip", title: "forceImmediate"},
                                   "immediate") : null),
      h("td", null, formatDate(release.promotedAt)),
      h("td", null, releaseStatus(release),
        release.revertedAt ? h("div", {class: "muted small"}, formatDate(release.revertedAt)) : null),
      h("td", null, h("div", {class: "event-counts"}, EVENTS.map((e) => {
        const n = Number(counts[e.key] || 0);
        return h("span", {class: "event-count" + (n ? "" : " muted"), title: `${e.title}: ${n}`},
          h("span", {class: "event-n", "data-event": e.key}, String(n)), ` ${e.label}`);
      }))),
      canRelease ? h("td", {class: "row-actions"},
        isCurrent(release)
          ? h("button", {type: "button", class: "button danger", onclick: () => revert(release)},
              "Revert")
          : null) : null);
  }

  async function revert(release) {
    historyError.hide();
    historyResult.hidden = true;
    const fallback = state.releases.find((r) => r.id !== release.id && !r.revertedAt &&
                                         laneKey(r) === laneKey(release) &&
                                         r.promotedAt <= release.promotedAt);
    const sure = await confirmDialog({
      title: `Revert ${release.bundleVersion}?`,
      text: `It is taken back from ${laneText(release)}. ` + (fallback
        ? `Devices there are offered ${fallback.bundleVersion} again.`
        : "That channel then offers no update; devices keep what they run."),
      confirm: "Revert release", danger: true,
    });
    if (!sure) return;
    try {
      const {currentRelease} = await api("POST", `${base}/releases/${release.id}/revert`);
      clear(historyResult).append(ok(`Reverted ${release.bundleVersion} on ${laneText(release)}. ` +
        (currentRelease ? `It now serves ${currentRelease.bundleVersion}.`
                        : "It now offers no update.")));
      historyResult.hidden = false;
    } catch (error) {
      historyError.show(error.message);
    }
    await refresh();
  }

  // -- loading

  async function loadReleases() {
    const mine = ++historyLoads;
    try {
      const {releases, current} = await loadHistory();
      if (mine !== historyLoads || !historyList.isConnected) return;
      state.releases = releases;
      state.current = current;
      fillChannelFilter();
      renderHistory();
    } catch (error) {
      if (mine === historyLoads) historyError.show(error.message);
    }
  }

  /** Re-read the history (the bundles' "Live on" depends on it), then the bundles. */
  async function refresh() {
    await loadReleases();
    await loadBundles();
  }

  append(main, [
    back,
    h("header", {class: "page-header"},
      h("div", {class: "app-cell"},
        appIcon(app.icon_url, app.name),
        h("div", null,
          h("h1", null, app.name),
          h("p", {class: "muted"}, `Over-the-air updates · ${app.bundle_id_key}`)))),
    configPanel,
    h("section", {class: "panel"},
      h("div", {class: "panel-head"}, h("h2", null, "Bundles"), bundleTotal),
      bundleError, bundleResult, bundleList, bundlePager),
    h("section", {class: "panel"},
      h("div", {class: "panel-head"}, h("h2", null, "Release history"),
        h("div", {class: "toolbar-inline"}, channelFilter, refreshButton)),
      historyError, historyResult, historyList, historyPager)]);
  fillChannelFilter();
  await Promise.all([loadSnippet(), refresh()]);
}
