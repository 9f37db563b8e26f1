// The QA workflow: apps, the builds list (filters, sorting, pages, upload) and one build's page
// (details, status and label, comments with screenshots, recordings).

import {api, apiUpload, append, avatar, chosenFile, clear, confirmDialog, debounce, field, form,
        formatBytes, formatDate, h, hasRole, initials, input, message, pageHeader, panel,
        promptDialog, select, table} from "../ui.js";

const STATUSES = ["Backlog", "In Progress", "Done", "Rejected"];
const PLATFORM_LABELS = {ios: "iOS", android: "Android", both: "iOS + Android"};
const PAGE_SIZE = 20;
const SORTS = {uploaded_at: "Uploaded", version_name: "Version", status_label: "Status"};

// ---------------------------------------------------------------------------------------------
// Small shared pieces

function platformLabel(platform) {
  return PLATFORM_LABELS[platform] || platform || "—";
}

/** "1.2.3 (89)": the version name and build number as people quote them. */
function versionText(versionName, buildNumber) {
  if (versionName && buildNumber) return `${versionName} (${buildNumber})`;
  return versionName || (buildNumber ? `(${buildNumber})` : "—");
}

function statusBadge(status) {
  if (!status) return h("span", {class: "status status-none"}, "No status");
  return h("span", {class: `status status-${status.toLowerCase().replace(/\s+/g, "-")}`}, status);
}

/** The app's icon, or its initials on a tile when it has none (or it fails to load). */
export function appIcon(url, name, size = "md") {
  const fallback = h("span", {class: `app-icon app-icon-${size} app-icon-initials`,
                              "aria-hidden": "true"}, initials(name));
  if (!url) return fallback;
  const img = h("img", {class: `app-icon app-icon-${size}`, src: url, alt: ""});
  img.addEventListener("error", () => img.replaceWith(fallback));
  return img;
}

function statusOptions(noneLabel) {
  return [{value: "", label: noneLabel}, ...STATUSES];
}

function ok(text) {
  return h("p", {class: "message message-ok", role: "status"}, text);
}

// ---------------------------------------------------------------------------------------------
// Apps

export async function appsPage(main, ctx) {
  const canManage = hasRole(ctx.me, "Developer");
  const list = h("div");
  const listError = message("error");
  const listResult = h("div", {class: "result", hidden: true});

  function showResult(...children) {
    clear(listResult).append(...children);
    listResult.hidden = false;
  }

  async function refresh() {
    const {items} = await api("GET", "apps");
    clear(list).append(table(
      ["App", "Platform", "Latest build", ""],
      items.map(appRow),
      canManage ? "No apps yet. Upload a build on the Builds page, or add an app above."
                : "No apps yet. They appear when a build is uploaded."));
  }

  function appRow(app) {
    return h("tr", {"data-app-id": app.id},
      h("td", null,
        h("div", {class: "app-cell"},
          appIcon(app.icon_url, app.name),
          h("div", {class: "app-cell-text"},
            h("a", {class: "strong", href: `/builds?app_id=${app.id}`}, app.name),
            h("div", {class: "muted small mono"}, app.bundle_id_key)))),
      h("td", null, platformLabel(app.platform)),
      h("td", null, app.latest_build_id
        ? h("div", {class: "latest"},
            h("div", null,
              h("a", {href: `/builds/${app.latest_build_id}`},
                versionText(app.version_name, app.build_number)),
              " ", statusBadge(app.status_label)),
            h("div", {class: "muted small"}, formatDate(app.latest_uploaded_at)))
        : h("span", {class: "muted"}, "No builds yet")),
      h("td", {class: "row-actions"},
        h("a", {class: "button", href: `/builds?app_id=${app.id}`}, "Builds"),
        canManage ? h("button", {type: "button", class: "button", onclick: () => rename(app)},
                      "Rename") : null,
        canManage ? h("button", {type: "button", class: "button danger",
                                 onclick: () => remove(app)}, "Delete") : null));
  }

  async function rename(app) {
    listError.hide();
    listResult.hidden = true;
    const name = await promptDialog({title: `Rename ${app.name}`, label: "Name", value: app.name,
                                     confirm: "Rename"});
    if (name === null || name === app.name) return;
    try {
      await api("PATCH", `apps/${app.id}`, {name});
      showResult(ok(`Renamed to ${name}.`));
      await refresh();
    } catch (error) {
      listError.show(error.message);
    }
  }

  async function remove(app) {
    listError.hide();
    listResult.hidden = true;
    let count = null;
    try {
      count = (await api("GET", `builds?app_id=${app.id}&limit=1`)).total;
    } catch {
      // the question below still makes sense without the number
    }
    const builds = count === null ? "all its builds" : count === 1 ? "its 1 build"
      : `all its ${count} builds`;
    const sure = await confirmDialog({
      title: `Delete ${app.name}?`,
      text: `This deletes the app and ${builds}, with their comments and recordings. ` +
            "It cannot be undone.",
      confirm: "Delete app", danger: true,
    });
    if (!sure) return;
    try {
      await api("DELETE", `apps/${app.id}`);
      showResult(ok(`${app.name} was deleted.`));
      await refresh();
    } catch (error) {
      listError.show(error.message);
    }
  }

  const createForm = canManage ? form({
    submit: "Add app",
    className: "form-inline",
    onSubmit: async (data, el) => {
      const name = String(data.get("name") || "").trim();
      await api("POST", "apps", {name, bundle_id_key: String(data.get("bundle_id_key") || "").trim(),
                                 platform: data.get("platform")});
      el.reset();
      await refresh();
      return `Added ${name}.`;
    },
  },
  field("Name", input("name", {required: true, placeholder: "My App"})),
  field("Bundle ID", input("bundle_id_key", {required: true, placeholder: "com.example.app",
                                             spellcheck: "false"})),
  field("Platform", select("platform", [{value: "ios", label: "iOS"},
                                        {value: "android", label: "Android"},
                                        {value: "both", label: "iOS + Android"}], "ios"))) : null;

  append(main, [
    pageHeader("Apps", "Every app the relay knows, with its latest build. Apps are created " +
                       "automatically from the bundle id of uploaded builds."),
    createForm ? panel("Add an app", createForm) : null,
    panel("Apps", listError, listResult, list)]);
  await refresh();
}

// ---------------------------------------------------------------------------------------------
// Builds list

export async function buildsPage(main, ctx) {
  const canUpload = hasRole(ctx.me, "Developer");
  const p = ctx.params;
  const state = {
    q: p.get("q") || "",
    platform: ["ios", "android"].includes(p.get("platform")) ? p.get("platform") : "",
    status: [...STATUSES, "none"].includes(p.get("status")) ? p.get("status") : "",
    app_id: /^\d+$/.test(p.get("app_id") || "") ? p.get("app_id") : "",
    sort: SORTS[p.get("sort")] ? p.get("sort") : "uploaded_at",
    dir: p.get("dir") === "asc" ? "asc" : "desc",
    page: Math.max(0, parseInt(p.get("page"), 10) || 0),
  };
  let apps = [];
  let appsReady = Promise.resolve();  // the apps give the rows their icons
  let loads = 0;

  const list = h("div", {class: "builds-list"});
  const summary = h("span", {class: "muted", role: "status", "data-testid": "builds-total"});
  const listError = message("error");
  const pager = h("nav", {class: "pager", "aria-label": "Pages"});

  const search = h("input", {type: "search", name: "q", value: state.q, class: "search",
                             "aria-label": "Search builds",
                             placeholder: "Search versions, labels and apps"});
  const platformFilter = select("platform", [{value: "", label: "All platforms"},
                                             {value: "ios", label: "iOS"},
                                             {value: "android", label: "Android"}],
                                state.platform, {"aria-label": "Platform", class: "compact"});
  const statusFilter = select("status", [...statusOptions("Any status"),
                                         {value: "none", label: "No status yet"}], state.status,
                              {"aria-label": "Status", class: "compact"});
  const appFilter = h("select", {name: "app_id", "aria-label": "App", class: "compact"});

  function fillAppFilter() {
    const options = [{value: "", label: "All apps"},
                     ...apps.map((a) => ({value: String(a.id), label: a.name}))];
    if (state.app_id && !apps.some((a) => String(a.id) === state.app_id)) {
      options.push({value: state.app_id, label: `App #${state.app_id}`});
    }
    clear(appFilter).append(...options.map((o) => h("option", {value: o.value}, o.label)));
    appFilter.value = state.app_id;
  }

  async function loadApps() {
    apps = (await api("GET", "apps")).items;
    fillAppFilter();
  }

  function query() {
    const qs = new URLSearchParams();
    for (const key of ["q", "platform", "status", "app_id"]) if (state[key]) qs.set(key, state[key]);
    if (state.sort !== "uploaded_at" || state.dir !== "desc") {
      qs.set("sort", state.sort);
      qs.set("dir", state.dir);
    }
    if (state.page) qs.set("page", String(state.page));
    return qs;
  }

  async function load() {
    const mine = ++loads;
    listError.hide();
    const qs = query();
    qs.set("limit", String(PAGE_SIZE));
    qs.set("page", String(state.page));
    qs.set("sort", state.sort);
    qs.set("dir", state.dir);
    let data;
    try {
      [data] = await Promise.all([api("GET", `builds?${qs}`), appsReady.catch(() => null)]);
    } catch (error) {
      if (mine === loads) listError.show(error.message);
      return;
    }
    if (mine !== loads || !list.isConnected) return;  // a newer load, or the page was left
    const pages = Math.max(1, Math.ceil(data.total / PAGE_SIZE));
    if (state.page >= pages && state.page > 0) {  // e.g. the last build of the last page went
      state.page = pages - 1;
      return load();
    }
    const shown = query().toString();
    history.replaceState(null, "", "/builds" + (shown ? `?${shown}` : ""));
    render(data, pages);
  }

  function sortHeader(key) {
    const active = state.sort === key;
    const arrow = active ? (state.dir === "asc" ? "↑" : "↓") : "";
    return h("th", {scope: "col", "aria-sort": active ? (state.dir === "asc" ? "ascending" : "descending") : null},
      h("button", {type: "button", class: "sort" + (active ? " active" : ""),
                   onclick: () => {
                     if (active) state.dir = state.dir === "asc" ? "desc" : "asc";
                     else {
                       state.sort = key;
                       state.dir = key === "uploaded_at" ? "desc" : "asc";
                     }
                     state.page = 0;
                     load();
                   }},
        SORTS[key], h("span", {class: "sort-arrow", "aria-hidden": "true"}, arrow)));
  }

  function render(data, pages) {
    const filtered = state.q || state.platform || state.status || state.app_id;
    const from = state.page * PAGE_SIZE;
    summary.textContent = data.total === 0 ? "" :
      data.total === 1 ? "1 build" :
      data.total <= PAGE_SIZE ? `${data.total} builds` :
      `${from + 1}–${from + data.items.length} of ${data.total} builds`;
    if (!data.items.length) {
      clear(list).append(h("p", {class: "empty muted"}, filtered
        ? "No builds match these filters."
        : canUpload ? "No builds yet. Upload one above, or from CI with a token."
                    : "No builds yet."));
    } else {
      const icons = Object.fromEntries(apps.map((a) => [a.id, a.icon_url]));
      clear(list).append(h("div", {class: "table-wrap"},
        h("table", {class: "builds"},
          h("thead", null, h("tr", null,
            h("th", {scope: "col"}, "Build"),
            sortHeader("version_name"),
            h("th", {scope: "col"}, "Platform"),
            sortHeader("status_label"),
            sortHeader("uploaded_at"),
            h("th", {scope: "col"}, h("span", {class: "visually-hidden"}, "Actions")))),
          h("tbody", null, data.items.map((b) => buildRow(b, icons[b.app_id]))))));
    }
    clear(pager);
    if (pages > 1) {
      pager.append(
        h("button", {type: "button", class: "button", disabled: state.page === 0,
                     onclick: () => { state.page -= 1; load(); }}, "← Previous"),
        h("span", {class: "muted"}, `Page ${state.page + 1} of ${pages}`),
        h("button", {type: "button", class: "button", disabled: state.page >= pages - 1,
                     onclick: () => { state.page += 1; load(); }}, "Next →"));
    }
  }

  function buildRow(b, iconUrl) {
    return h("tr", {"data-build-id": b.id},
      h("td", null,
        h("div", {class: "app-cell"},
          appIcon(iconUrl, b.name, "sm"),
          h("a", {class: "strong", href: `/builds/${b.id}`, title: b.bundle_id}, b.name))),
      h("td", {class: "nowrap"},
        h("a", {href: `/builds/${b.id}`}, versionText(b.version_name, b.build_number)),
        b.version_label ? h("span", {class: "chip label-chip"}, b.version_label) : null),
      h("td", null, platformLabel(b.platform)),
      h("td", null, statusBadge(b.status_label)),
      h("td", {class: "nowrap"}, formatDate(b.uploaded_at)),
      h("td", {class: "row-actions"},
        h("a", {class: "button", href: b.download_url, download: ""}, "Download"),
        canUpload ? h("button", {type: "button", class: "button danger",
                                 onclick: () => remove(b)}, "Delete") : null));
  }

  async function remove(b) {
    listError.hide();
    const sure = await confirmDialog({
      title: `Delete ${b.name} ${versionText(b.version_name, b.build_number)}?`,
      text: "The build file, its comments and its recordings are deleted. This cannot be undone.",
      confirm: "Delete build", danger: true,
    });
    if (!sure) return;
    try {
      await api("DELETE", `builds/${b.id}`);
      appsReady = loadApps();
      await Promise.all([appsReady, load()]);
    } catch (error) {
      listError.show(error.message);
    }
  }

  const onFilter = () => {
    state.q = search.value.trim();
    state.platform = platformFilter.value;
    state.status = statusFilter.value;
    state.app_id = appFilter.value;
    state.page = 0;
    load();
  };
  search.addEventListener("input", debounce(onFilter, 250));
  for (const filter of [platformFilter, statusFilter, appFilter]) {
    filter.addEventListener("change", onFilter);
  }

  append(main, [
    pageHeader("Builds", "Find a build, download it, and review it."),
    canUpload ? panel("Upload a build", uploadForm(async (created) => {
      state.page = 0;
      appsReady = loadApps();
      await Promise.all([appsReady, load()]);
      return created;
    })) : null,
    panel(null,
      h("div", {class: "toolbar filters"}, search, platformFilter, statusFilter, appFilter,
        summary),
      listError, list, pager)]);
  fillAppFilter();
  appsReady = loadApps();
  await Promise.all([appsReady, load()]);
}

function uploadForm(afterUpload) {
  const progress = h("progress", {max: "1", value: "0", class: "upload-progress", hidden: true,
                                  "aria-label": "Upload progress"});
  return form({
    submit: "Upload",
    className: "form-wide",
    onSubmit: async (data, formEl) => {
      const file = chosenFile(data, "file");
      if (!file) throw new Error("Choose a build file: an .app.zip (iOS) or an .apk (Android).");
      const body = new FormData();
      body.set("file", file);
      if (data.get("status")) body.set("status", data.get("status"));
      if (String(data.get("label") || "").trim()) body.set("label", String(data.get("label")).trim());
      progress.value = 0;
      progress.hidden = false;
      let created;
      try {
        created = await apiUpload("builds", body, (fraction) => { progress.value = fraction; });
      } finally {
        progress.hidden = true;
      }
      formEl.reset();
      await afterUpload(created);
      return `Uploaded ${versionText(created.version_name, created.build_number)} of ` +
             `${created.bundle_id}.`;
    },
  },
  field("Build file", h("input", {type: "file", name: "file", accept: ".zip,.apk,.gz,.tgz"}),
        "An .app.zip of a simulator build (iOS) or an .apk (Android), up to 500 MB. " +
        ".ipa files are not supported."),
  h("div", {class: "field-row"},
    field("Status", select("status", statusOptions("None"), "")),
    field("Label", input("label", {placeholder: "e.g. rc-1", maxlength: "50"}))),
  progress);
}

// ---------------------------------------------------------------------------------------------
// One build

export async function buildPage(main, ctx) {
  const id = Number(ctx.match[1]);
  const canReview = hasRole(ctx.me, "QA");
  const canDelete = hasRole(ctx.me, "Developer");
  const isAdmin = hasRole(ctx.me, "Admin");
  const back = h("a", {class: "back", href: "/builds"}, "← All builds");

  let build;
  try {
    build = await api("GET", `builds/${id}`);
  } catch (error) {
    if (error.status !== 404) throw error;
    main.append(back, pageHeader("Build not found"),
                h("p", {class: "message message-error", role: "alert"}, error.message));
    return;
  }

  const header = h("div");
  const details = h("dl", {class: "details"});
  const actionsError = message("error");

  function renderBuild() {
    const title = `${build.name} ${versionText(build.version_name, build.build_number)}`;
    document.title = `${title} · ${ctx.settings?.team_name || "Relay"}`;
    clear(header).append(
      h("header", {class: "page-header build-header"},
        h("div", null,
          h("h1", null, title),
          h("p", {class: "muted"}, `${platformLabel(build.platform)} · ${build.bundle_id}`)),
        h("div", {class: "actions"},
          h("a", {class: "button primary", href: build.download_url, download: ""}, "Download"),
          canDelete ? h("button", {type: "button", class: "button danger", onclick: remove},
                        "Delete") : null)));
    const rows = [
      ["App", h("a", {href: `/builds?app_id=${build.app_id}`}, build.name)],
      ["Version", build.version_name || "—"],
      ["Build number", build.build_number || "—"],
      ["Status", statusBadge(build.status_label)],
      ["Label", build.version_label ? h("span", {class: "chip label-chip"}, build.version_label)
                                    : h("span", {class: "muted"}, "None")],
      ["Platform", platformLabel(build.platform)],
      ["Bundle ID", h("span", {class: "mono"}, build.bundle_id)],
      ["Minimum OS", build.min_os || "—"],
      ["Size", formatBytes(build.file_size)],
      ["Uploaded", formatDate(build.uploaded_at)],
      ["SHA-256", h("span", {class: "mono hash"}, build.sha256 || "—")],
    ];
    append(clear(details), rows.map(([term, value]) =>
      h("div", {class: "detail"}, h("dt", null, term), h("dd", null, value))));
  }

  async function remove() {
    actionsError.hide();
    const sure = await confirmDialog({
      title: `Delete this build?`,
      text: "The build file, its comments and its recordings are deleted. This cannot be undone.",
      confirm: "Delete build", danger: true,
    });
    if (!sure) return;
    try {
      await api("DELETE", `builds/${build.id}`);
      ctx.go("/builds");
    } catch (error) {
      actionsError.show(error.message);
    }
  }

  const reviewForm = canReview ? form({
    submit: "Save",
    className: "form-inline review-form",
    onSubmit: async (data) => {
      const label = String(data.get("version_label") || "").trim();
      await api("PATCH", `builds/${build.id}`, {status_label: data.get("status_label") || null,
                                                 version_label: label || null});
      build = await api("GET", `builds/${build.id}`);
      renderBuild();
      return "Saved.";
    },
  },
  field("Status", select("status_label", statusOptions("No status"), build.status_label || "")),
  field("Label", input("version_label", {value: build.version_label || "",
                                         placeholder: "e.g. rc-1, hotfix", maxlength: "50"}))) : null;

  const comments = h("div", {class: "comments"});
  const commentsTitle = h("h2", null, "Comments");
  const commentsError = message("error");

  async function loadComments() {
    const items = await api("GET", `comments?build_id=${build.id}`);
    commentsTitle.textContent = items.length ? `Comments (${items.length})` : "Comments";
    append(clear(comments), items.length ? items.map(commentItem)
      : h("p", {class: "empty muted"}, "No comments yet."));
  }

  function commentItem(c) {
    const mine = c.authorId != null ? c.authorId === ctx.me.id : c.author === ctx.me.email;
    const name = c.authorDisplayName || c.author;
    return h("article", {class: "comment", "data-comment-id": c.id},
      avatar(c.authorAvatarUrl, name),
      h("div", {class: "comment-main"},
        h("div", {class: "comment-head"},
          h("span", {class: "strong"}, name),
          name !== c.author ? h("span", {class: "muted small"}, c.author) : null,
          mine ? h("span", {class: "chip"}, "you") : null,
          h("time", {class: "muted small", datetime: c.created_at}, formatDate(c.created_at)),
          canReview && (mine || isAdmin)
            ? h("button", {type: "button", class: "button subtle small-button",
                           onclick: () => removeComment(c)}, "Delete") : null),
        h("p", {class: "comment-body"}, c.body),
        c.attachments?.length ? h("div", {class: "attachments"},
          c.attachments.map((a) => h("a", {href: a.file_path, target: "_blank", rel: "noopener"},
            h("img", {class: "attachment", src: a.file_path,
                      alt: `Screenshot from ${c.author}`})))) : null));
  }

  async function removeComment(c) {
    commentsError.hide();
    const sure = await confirmDialog({title: "Delete this comment?",
                                      text: "It is deleted with its screenshot.",
                                      confirm: "Delete", danger: true});
    if (!sure) return;
    try {
      await api("DELETE", `comments/${c.id}`);
      await loadComments();
    } catch (error) {
      commentsError.show(error.message);
    }
  }

  const commentForm = canReview ? form({
    submit: "Post comment",
    className: "form-wide comment-form",
    onSubmit: async (data, el) => {
      const body = new FormData();
      body.set("build_id", String(build.id));
      body.set("body", String(data.get("body") || ""));
      const shot = chosenFile(data, "attachment");
      if (shot) body.set("attachment", shot);
      await api("POST", "comments", body);
      el.reset();
      await loadComments();
    },
  },
  field("Comment", h("textarea", {name: "body", rows: "3", required: true,
                                  placeholder: "What did you notice?"})),
  field("Screenshot (optional)", h("input", {type: "file", name: "attachment",
                                             accept: "image/png,image/jpeg,image/webp"}),
        "PNG, JPEG or WebP, up to 5 MB.")) : null;

  const recordings = h("div", {class: "recordings"});

  async function loadRecordings() {
    const items = await api("GET", `recordings?buildId=${build.id}`);
    append(clear(recordings), items.length ? items.map((r) =>
      h("figure", {class: "recording", "data-recording-id": r.id},
        h("video", {controls: true, preload: "metadata", src: r.url}),
        h("figcaption", {class: "muted small"},
          r.sessionId ? h("span", {class: "chip"}, r.sessionId) : null,
          `${formatBytes(r.fileSize)} · uploaded ${formatDate(r.createdAt)} · `,
          h("span", {class: "expires"}, `expires ${formatDate(r.expiresAt)}`))))
      : h("p", {class: "empty muted"}, "No recordings for this build."));
  }

  const recordingForm = canReview ? form({
    submit: "Upload recording",
    className: "recording-form",
    onSubmit: async (data, el) => {
      const video = chosenFile(data, "video");
      if (!video) throw new Error("Choose a video file (webm or mp4).");
      const body = new FormData();
      body.set("video", video);
      await apiUpload(`recordings/upload?buildId=${build.id}`, body);
      el.reset();
      await loadRecordings();
      return "Recording uploaded.";
    },
  },
  field("Recording", h("input", {type: "file", name: "video", accept: "video/webm,video/mp4"}),
        "webm or mp4.")) : null;

  renderBuild();
  append(main, [
    back, header, actionsError,
    panel("Details", details),
    reviewForm ? panel("Review", reviewForm) : null,
    h("section", {class: "panel"}, commentsTitle, commentsError, comments, commentForm),
    panel("Recordings",
      h("p", {class: "muted small"}, "Recordings are deleted automatically 72 hours after upload."),
      recordings, recordingForm)]);
  await Promise.all([loadComments(), loadRecordings()]);
}
