// The dashboard: a small client-side router, the signed-in shell and the navigation list.
//
// To add a page: write `async function myPage(main, ctx)` in a module under pages/, import it
// here and add it to NAV (signed-in pages) or PUBLIC_PAGES (pages for people not signed in),
// then add its path to PAGES in relay/web/__init__.py so a reload serves the dashboard.
// A page under a path pattern (/builds/42) goes into ROUTES instead, with a Flask route for the
// pattern in relay/web/__init__.py; it gets the pattern's groups as ctx.match.

import {api, avatar, clear, h, onUnauthorized, pageHeader} from "./ui.js";
import {invitePage, loginPage, resetPasswordPage, setupPage} from "./pages/auth.js";
import {homePage, profilePage, tokensPage} from "./pages/account.js";
import {logsPage, settingsPage, teamPage} from "./pages/admin.js";
import {appsPage, buildPage, buildsPage} from "./pages/builds.js";
import {agentsPage} from "./pages/agents.js";
import {appUpdatesPage, updatesPage} from "./pages/updates.js";

const ROLE_RANK = {Viewer: 1, QA: 2, Developer: 3, Admin: 4};

// Signed-in pages, in sidebar order. `role` is the least role that sees the page.
export const NAV = [
  {path: "/", label: "Home", page: homePage, section: "Workspace",
   description: "Where to start."},
  {path: "/apps", label: "Apps", page: appsPage, section: "Builds",
   description: "Every app, with its latest build."},
  {path: "/builds", label: "Builds", page: buildsPage, section: "Builds",
   description: "Find, download and review builds."},
  {path: "/agents", label: "Agents", page: agentsPage, section: "Builds",
   description: "Connected Mac agents and their CPU and RAM."},
  {path: "/updates", label: "Updates", page: updatesPage, section: "Over the air",
   description: "Web bundles and their releases to devices, over the air."},
  {path: "/tokens", label: "Tokens", page: tokensPage, section: "Account",
   description: "Personal access tokens for CI scripts and the relay CLI."},
  {path: "/profile", label: "Profile", page: profilePage, section: "Account",
   description: "Your name, picture and password."},
  {path: "/team", label: "Team", page: teamPage, section: "Admin", role: "Admin",
   description: "Invite people, change roles, reset passwords."},
  {path: "/settings", label: "Settings", page: settingsPage, section: "Admin", role: "Admin",
   description: "Team name and logo."},
  {path: "/logs", label: "Logs", page: logsPage, section: "Admin", role: "Admin",
   description: "The relay's recent log lines."},
];

// Signed-in pages under a path pattern; `nav` is the NAV entry they belong to (sidebar, role).
export const ROUTES = [
  {pattern: /^\/builds\/(\d+)$/, label: "Build", page: buildPage, nav: "/builds"},
  {pattern: /^\/updates\/(\d+|[0-9a-fA-F-]{36})$/, label: "Updates", page: appUpdatesPage,
   nav: "/updates"},
];

/** The page for a signed-in path: a NAV entry, or a ROUTES entry with its match. */
function findPage(path) {
  const item = NAV.find((n) => n.path === path);
  if (item) return {item, navPath: item.path, label: item.label, match: null};
  for (const r of ROUTES) {
    const match = path.match(r.pattern);
    if (match) {
      const parent = NAV.find((n) => n.path === r.nav);
      return {item: {...parent, page: r.page, label: r.label}, navPath: parent.path,
              label: r.label, match};
    }
  }
  return null;
}

// Pages shown without the shell, to people who are not signed in.
const PUBLIC_PAGES = {
  "/setup": setupPage,
  "/login": loginPage,
  "/invite": invitePage,
  "/reset-password": resetPasswordPage,
};

const state = {
  initialized: null,  // from auth/status, asked until true
  me: null,           // auth/me of the signed-in user
  settings: null,     // team name and logo
  shell: null,        // {root, sidebar, main} while the shell is on screen
  generation: 0,      // bumps on every navigation; stale renders stop
};

const root = document.getElementById("app");

export function canSee(item, me) {
  return !item.role || (me && ROLE_RANK[me.role] >= ROLE_RANK[item.role]);
}

// ---------------------------------------------------------------------------------------------
// Navigation

/** Go to a dashboard path ("/team", "/login?next=…"); `replace` keeps history clean. */
export function go(path, {replace = false} = {}) {
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  route();
}

function safeNext(next) {
  return next && next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/api/")
    ? next : "/";
}

document.addEventListener("click", (event) => {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey ||
      event.shiftKey || event.altKey) return;
  const link = event.target.closest("a[href]");
  if (!link || link.target || link.hasAttribute("download") || link.origin !== location.origin ||
      link.pathname.startsWith("/api/")) return;
  event.preventDefault();
  if (link.pathname + link.search !== location.pathname + location.search) {
    go(link.pathname + link.search);
  }
});

window.addEventListener("popstate", () => route());

onUnauthorized((_error, path) => {
  // The session ended while signed in (expired, signed out elsewhere, password changed).
  if (state.me && path !== "auth/login") {
    state.me = null;
    go(`/login?next=${encodeURIComponent(location.pathname + location.search)}`, {replace: true});
  }
});

// ---------------------------------------------------------------------------------------------
// Session

async function loadSession() {
  const [me, settings] = await Promise.all([api("GET", "auth/me"), api("GET", "settings")]);
  state.me = me;
  state.settings = settings;
}

/** Re-read the user and team settings (after a profile or settings change) and redraw the shell. */
async function reloadSession() {
  await loadSession();
  if (state.shell) renderSidebar();
}

async function signOut() {
  try {
    await api("POST", "auth/logout");
  } catch {
    // signed out already, or the relay is down: either way, show the sign-in page
  } finally {
    state.me = null;
    state.settings = null;
    go("/login");
  }
}

function context(url, extra = {}) {
  return {
    ...extra,
    me: state.me,
    settings: state.settings,
    params: url.searchParams,
    nav: NAV.filter((item) => canSee(item, state.me)),
    go,
    reloadSession,
    signedIn: () => { state.me = null; state.initialized = true; },
    isCurrent: (generation) => generation === state.generation,
  };
}

// ---------------------------------------------------------------------------------------------
// Router

async function route() {
  const generation = ++state.generation;
  const url = new URL(location.href);
  const path = url.pathname.replace(/\/+$/, "") || "/";
  const stale = () => generation !== state.generation;
  try {
    if (state.initialized !== true) {
      state.initialized = (await api("GET", "auth/status")).initialized;
      if (stale()) return;
    }
    if (!state.initialized) {
      if (path !== "/setup") return go("/setup", {replace: true});
      return showPublic(setupPage, url, generation);
    }
    if (path === "/setup") return go("/", {replace: true});

    if (PUBLIC_PAGES[path]) {
      if (path === "/login" && (state.me || await signedInQuietly())) {
        if (stale()) return;
        return go(safeNext(url.searchParams.get("next")), {replace: true});
      }
      if (stale()) return;
      return showPublic(PUBLIC_PAGES[path], url, generation);
    }

    if (!state.me) {
      if (!(await signedInQuietly())) {
        if (stale()) return;
        const next = path === "/" ? "" : `?next=${encodeURIComponent(path + url.search)}`;
        return go(`/login${next}`, {replace: true});
      }
      if (stale()) return;
    }
    showInShell(path, url, generation);
  } catch (error) {
    if (!stale()) showFatal(error);
  }
}

async function signedInQuietly() {
  try {
    await loadSession();
    return true;
  } catch (error) {
    if (error.status === 401) return false;
    throw error;
  }
}

function showPublic(page, url, generation) {
  state.shell = null;
  const card = h("div", {class: "auth-card"});
  clear(root).append(
    h("div", {class: "auth-layout"},
      h("div", {class: "auth-brand"}, h("span", {class: "brand-mark"}, "R"), "Relay"),
      card));
  document.title = "Relay";
  runPage(page, card, url, generation);
}

function showInShell(path, url, generation) {
  if (!state.shell) {
    const sidebar = h("aside", {class: "sidebar"});
    const main = h("main", {class: "content", id: "main"});
    state.shell = {sidebar, main};
    clear(root).append(h("div", {class: "layout"}, sidebar, main));
  }
  renderSidebar();
  const main = clear(state.shell.main);
  const found = findPage(path);
  const item = found?.item;
  if (!item) {
    main.append(pageHeader("Page not found"),
                h("p", null, "There is nothing here. ", h("a", {href: "/"}, "Go home")));
    return;
  }
  if (!canSee(item, state.me)) {
    main.append(pageHeader(item.label),
                h("p", {class: "message message-error", role: "alert"},
                  `This page is for ${item.role}s only.`));
    return;
  }
  runPage(item.page, main, url, generation, {match: found.match});
}

async function runPage(page, container, url, generation, extra) {
  try {
    await page(container, context(url, extra));
  } catch (error) {
    if (generation === state.generation && error.status !== 401) {
      container.append(h("p", {class: "message message-error", role: "alert"}, error.message));
    }
  }
}

function showFatal(error) {
  state.shell = null;
  clear(root).append(
    h("div", {class: "auth-layout"},
      h("div", {class: "auth-card"},
        h("h1", null, "Relay is not answering"),
        h("p", {class: "message message-error", role: "alert"}, error.message),
        h("button", {class: "button primary", onclick: () => route()}, "Try again"))));
}

// ---------------------------------------------------------------------------------------------
// Shell

function renderSidebar() {
  const {me, settings} = state;
  const found = findPage(location.pathname.replace(/\/+$/, "") || "/");
  const path = found?.navPath;
  const teamName = settings?.team_name || "Relay";
  document.title = `${found?.label || "Not found"} · ${teamName}`;
  const logo = settings?.logo_url
    ? h("img", {class: "brand-logo", src: settings.logo_url, alt: ""})
    : h("span", {class: "brand-mark", "aria-hidden": "true"}, teamName.trim()[0]?.toUpperCase() || "R");

  const sections = [];
  for (const item of NAV.filter((n) => canSee(n, me))) {
    let section = sections.find((s) => s.name === item.section);
    if (!section) sections.push(section = {name: item.section, items: []});
    section.items.push(item);
  }

  clear(state.shell.sidebar).append(
    h("a", {class: "brand", href: "/"}, logo, h("span", {class: "brand-name"}, teamName)),
    h("nav", {class: "nav", "aria-label": "Main"},
      sections.map((section) => h("div", {class: "nav-section"},
        h("div", {class: "nav-heading"}, section.name),
        section.items.map((item) => h("a", {
          href: item.path,
          class: "nav-link" + (item.path === path ? " active" : ""),
          "aria-current": item.path === path ? "page" : null,
        }, item.label))))),
    h("div", {class: "user-box"},
      h("a", {class: "user", href: "/profile", title: me.email},
        avatar(me.avatarUrl, me.displayName),
        h("span", {class: "user-text"},
          h("span", {class: "user-name"}, me.displayName),
          h("span", {class: "user-role"}, me.role))),
      h("button", {type: "button", class: "button subtle", onclick: signOut}, "Sign out")));
}

route();
