// Admin pages: team members and invitations, team settings, logs.

import {api, avatar, clear, confirmDialog, copyBox, field, form, formatDate, h,
        imagePicker, input, message, pageHeader, panel, patchWithImage, select, table} from "../ui.js";

const ROLES = ["Admin", "Developer", "QA", "Viewer"];

// ---------------------------------------------------------------------------------------------
// Team

export async function teamPage(main, ctx) {
  const inviteResult = h("div", {class: "result", hidden: true});
  const memberResult = h("div", {class: "result", hidden: true});
  const memberError = message("error");
  const list = h("div");
  const pendingList = h("div");

  function showResult(box, ...children) {
    clear(box).append(...children);
    box.hidden = false;
  }

  function linkResult(box, text, url) {
    showResult(box, h("p", null, text), copyBox(url));
  }

  async function refresh() {
    const [members, pending] = await Promise.all([api("GET", "team/members"),
                                                  api("GET", "team/invitations")]);
    clear(list).append(table(
      ["Member", "Role", "Joined", ""],
      members.map((m) => memberRow(m)),
      "No members."));
    clear(pendingList).append(table(
      ["Invited", "Role", "Expires", ""],
      pending.map((inv) => h("tr", {"data-invitation-id": inv.id, "data-email": inv.email},
        h("td", null, inv.email),
        h("td", null, inv.role),
        h("td", null, formatDate(inv.expires_at)),
        h("td", {class: "row-actions"},
          h("button", {type: "button", class: "button danger", onclick: () => withdraw(inv)},
            "Withdraw")))),
      "No pending invitations."));
  }

  async function withdraw(inv) {
    memberError.hide();
    memberResult.hidden = true;
    try {
      await api("DELETE", `team/invitations/${inv.id}`);
      showResult(memberResult, h("p", {class: "message message-ok", role: "status"},
                                 `The invitation of ${inv.email} was withdrawn; its link no longer works.`));
      await refresh();
    } catch (error) {
      memberError.show(error.message);
    }
  }

  function memberRow(m) {
    const self = m.id === ctx.me.id;
    const roleSelect = select("role", ROLES, m.role,
                              {"aria-label": `Role of ${m.email}`, class: "compact"});
    roleSelect.addEventListener("change", () => changeRole(m, roleSelect));
    return h("tr", {"data-member-id": m.id, "data-email": m.email},
      h("td", null,
        h("div", {class: "member"},
          avatar(m.avatar_url, m.display_name),
          h("div", null,
            h("div", {class: "strong"}, m.display_name, self ? h("span", {class: "chip"}, "you") : null),
            h("div", {class: "muted small"}, m.email)))),
      h("td", null, roleSelect),
      h("td", null, formatDate(m.joined_at)),
      h("td", {class: "row-actions"},
        h("button", {type: "button", class: "button", onclick: () => sendReset(m)},
          "Reset password"),
        self ? null : h("button", {type: "button", class: "button danger",
                                   onclick: () => remove(m)}, "Remove")));
  }

  async function changeRole(m, roleSelect) {
    memberError.hide();
    memberResult.hidden = true;
    const role = roleSelect.value;
    roleSelect.disabled = true;
    try {
      await api("PATCH", `team/members/${m.id}`, {role});
      m.role = role;
      showResult(memberResult, h("p", {class: "message message-ok", role: "status"},
                                 `${m.display_name} is now ${role}.`));
      if (m.id === ctx.me.id) {
        await ctx.reloadSession();
        if (role !== "Admin") return ctx.go("/");
      }
    } catch (error) {
      roleSelect.value = m.role;
      memberError.show(error.message);
    } finally {
      roleSelect.disabled = false;
    }
  }

  async function sendReset(m) {
    memberError.hide();
    memberResult.hidden = true;
    try {
      const result = await api("POST", `team/members/${m.id}/send-reset`);
      if (result.emailSent) {
        showResult(memberResult, h("p", {class: "message message-ok", role: "status"},
                                   `A password reset email was sent to ${m.email}.`));
      } else {
        linkResult(memberResult,
                   `Email is not set up, so share this password reset link with ${m.email} ` +
                   "yourself. It works once and expires in 2 hours.", result.url);
      }
    } catch (error) {
      memberError.show(error.message);
    }
  }

  async function remove(m) {
    memberError.hide();
    memberResult.hidden = true;
    const sure = await confirmDialog({
      title: `Remove ${m.display_name}?`,
      text: `${m.email} will lose access at once, and their tokens will stop working.`,
      confirm: "Remove", danger: true,
    });
    if (!sure) return;
    try {
      await api("DELETE", `team/members/${m.id}`);
      showResult(memberResult, h("p", {class: "message message-ok", role: "status"},
                                 `${m.email} was removed from the team.`));
      await refresh();
    } catch (error) {
      memberError.show(error.message);
    }
  }

  const inviteForm = form({
    submit: "Invite",
    className: "form-inline",
    onSubmit: async (data, el) => {
      inviteResult.hidden = true;
      const email = String(data.get("email") || "").trim();
      const result = await api("POST", "team/invite", {email, role: data.get("role")});
      el.reset();
      await refresh();
      if (result.emailSent) {
        showResult(inviteResult, h("p", {class: "message message-ok", role: "status"},
                                   `Invitation sent to ${email}.`));
      } else {
        linkResult(inviteResult,
                   `Email is not set up, so share this invitation link with ${email} yourself. ` +
                   "It works once and expires in 7 days.", result.url);
      }
    },
  },
  field("Email", input("email", {type: "email", required: true,
                                 placeholder: "name@example.com"})),
  field("Role", select("role", ROLES, "QA")));

  main.append(
    pageHeader("Team", "Who can use this relay, and what they may do."),
    panel("Invite a member", inviteForm, inviteResult),
    panel("Members", memberError, memberResult, list),
    panel("Pending invitations", pendingList),
    h("p", {class: "muted small"},
      "Viewers read; QA also comment and set build status; Developers also manage apps, builds " +
      "and OTA releases; Admins also manage the team, settings and logs."));
  await refresh();
}

// ---------------------------------------------------------------------------------------------
// Settings

export async function settingsPage(main, ctx) {
  const settings = await api("GET", "settings");
  const current = settings.logo_url
    ? h("img", {class: "logo-preview", src: settings.logo_url, alt: "Current logo"})
    : h("span", {class: "logo-preview brand-mark"},
        (settings.team_name || "R").trim()[0]?.toUpperCase() || "R");
  main.append(
    pageHeader("Settings", "How the team appears in the dashboard and in emails."),
    panel("Team", form({
      submit: "Save settings",
      onSubmit: async (data, el) => {
        await patchWithImage("settings", data, el, "team_name", "logo");
        await ctx.reloadSession();
        return "Settings saved.";
      },
    },
    field("Team name", input("team_name", {value: settings.team_name || "", required: true})),
    imagePicker("logo", "Logo", current, "PNG or JPEG, up to 2 MB. Square works best."))));
}

// ---------------------------------------------------------------------------------------------
// Logs

export async function logsPage(main) {
  const output = h("pre", {class: "log", tabindex: "0", "aria-label": "Log lines"});
  const info = h("span", {class: "muted small", role: "status"});
  const error = message("error");
  const lines = select("lines", ["100", "200", "500"], "100",
                       {"aria-label": "Number of lines", class: "compact"});
  const refreshButton = h("button", {type: "button", class: "button"}, "Refresh");

  async function refresh() {
    error.hide();
    refreshButton.disabled = true;
    try {
      const rows = await api("GET", `logs?lines=${lines.value}`);
      output.textContent = rows.length ? rows.join("\n") : "No log lines yet.";
      output.scrollTop = output.scrollHeight;
      info.textContent = `${rows.length} lines · refreshed ${new Date().toLocaleTimeString()}`;
    } catch (err) {
      error.show(err.message);
    } finally {
      refreshButton.disabled = false;
    }
  }

  refreshButton.addEventListener("click", refresh);
  lines.addEventListener("change", refresh);
  main.append(
    pageHeader("Logs", "The most recent lines of the relay's log, newest last."),
    h("div", {class: "toolbar"}, h("label", {class: "inline"}, "Show last ", lines, " lines"),
      refreshButton, info),
    error, output);
  await refresh();
}
