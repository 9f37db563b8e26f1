// Pages every signed-in member has: home, personal access tokens, profile.

import {api, avatar, checkPasswordsMatch, clear, confirmDialog, copyBox, field, form,
        formatDate, h, imagePicker, input, message, pageHeader, patchWithImage, panel, select, table}
  from "../ui.js";

export async function homePage(main, ctx) {
  const {me, settings} = ctx;
  main.append(
    pageHeader(`Welcome, ${me.displayName}`,
               `You are signed in to ${settings.team_name || "Relay"} as ${me.role}.`),
    h("div", {class: "cards"},
      ctx.nav.filter((item) => item.path !== "/").map((item) =>
        h("a", {class: "card", href: item.path},
          h("span", {class: "card-title"}, item.label),
          h("span", {class: "muted"}, item.description)))));
}

// ---------------------------------------------------------------------------------------------
// Tokens

const SCOPES = [
  {value: "view", label: "view", text: "Read what you can see in the dashboard"},
  {value: "builds:write", label: "builds:write", text: "Upload builds from CI", checked: true},
  {value: "ota:write", label: "ota:write", text: "Upload and release OTA bundles"},
  {value: "agent", label: "agent", text: "Run a Mac agent", role: "Admin"},
];

const EXPIRY = [
  {value: "", label: "Never"},
  {value: "7", label: "In 7 days"},
  {value: "30", label: "In 30 days"},
  {value: "90", label: "In 90 days"},
  {value: "365", label: "In 1 year"},
];

export async function tokensPage(main, ctx) {
  const created = h("div", {class: "new-token", hidden: true});
  const list = h("div");
  const listError = message("error");

  async function refresh() {
    const tokens = await api("GET", "tokens");
    clear(list).append(table(
      ["Name", "Scopes", "Created", "Last used", "Expires", ""],
      tokens.map((t) => h("tr", {"data-token-id": t.id},
        h("td", {class: "strong"}, t.name),
        h("td", null, t.scope.split(",").map((s) => h("span", {class: "chip"}, s))),
        h("td", null, formatDate(t.created_at)),
        h("td", null, formatDate(t.last_used_at, "Never")),
        h("td", null, formatDate(t.expires_at, "Never")),
        h("td", {class: "row-actions"},
          h("button", {type: "button", class: "button danger", onclick: () => revoke(t)},
            "Revoke")))),
      "No tokens yet. Create one for your CI scripts above."));
  }

  async function revoke(token) {
    listError.hide();
    const sure = await confirmDialog({
      title: `Revoke “${token.name}”?`,
      text: "Scripts using this token will stop working at once. This cannot be undone.",
      confirm: "Revoke", danger: true,
    });
    if (!sure) return;
    try {
      await api("DELETE", `tokens/${token.id}`);
      await refresh();
    } catch (error) {
      listError.show(error.message);
    }
  }

  function showCreated(result) {
    clear(created).append(
      h("h3", null, `New token “${result.name}”`),
      h("p", null, "Copy it now: it is shown only this once."),
      copyBox(result.token, "New token"),
      h("div", {class: "actions"},
        h("button", {type: "button", class: "button", onclick: () => {
          clear(created);
          created.hidden = true;
        }}, "Done")));
    created.hidden = false;
  }

  const scopes = SCOPES.filter((s) => !s.role || s.role === ctx.me.role);
  const createForm = form({
    submit: "Create token",
    className: "form-wide",
    onSubmit: async (data, el) => {
      const body = {name: data.get("name"), scope: data.getAll("scope").join(",")};
      if (data.get("expires")) body.expires_in_days = Number(data.get("expires"));
      const result = await api("POST", "tokens", body);
      el.reset();
      showCreated(result);
      await refresh();
    },
  },
  field("Name", input("name", {required: true, placeholder: "e.g. GitHub Actions"})),
  h("fieldset", {class: "checks"},
    h("legend", null, "Scopes"),
    scopes.map((s) => h("label", {class: "check"},
      h("input", {type: "checkbox", name: "scope", value: s.value, checked: !!s.checked}),
      h("span", null, h("code", null, s.label), " — ", s.text)))),
  field("Expires", select("expires", EXPIRY, "")));

  main.append(
    pageHeader("Tokens", "Personal access tokens let scripts act as you, within the scopes you " +
                         "give them. Send one as “Authorization: Bearer …”."),
    panel("Create a token", createForm, created),
    panel("Your tokens", listError, list));
  await refresh();
}

// ---------------------------------------------------------------------------------------------
// Profile

export async function profilePage(main, ctx) {
  const {me} = ctx;
  const profileForm = form({
    submit: "Save profile",
    onSubmit: async (data, el) => {
      await patchWithImage("profile", data, el, "display_name", "avatar");
      await ctx.reloadSession();
      return "Profile saved.";
    },
  },
  imagePicker("avatar", "Picture", avatar(me.avatarUrl, me.displayName, "lg"),
              "PNG or JPEG, up to 2 MB."),
  field("Display name", input("display_name", {value: me.displayName, autocomplete: "name"})),
  field("Email", input("email", {value: me.email, readOnly: true, type: "email"})),
  field("Role", input("role", {value: me.role, readOnly: true}),
        "Only an Admin can change roles."));

  const passwordForm = form({
    submit: "Change password",
    onSubmit: async (data, el) => {
      checkPasswordsMatch(data, "newPassword", "confirm");
      await api("POST", "auth/change-password", {currentPassword: data.get("currentPassword"),
                                                 newPassword: data.get("newPassword")});
      el.reset();
      return "Password changed. Your other sessions have been signed out.";
    },
  },
  field("Current password", input("currentPassword", {type: "password",
                                                      autocomplete: "current-password"})),
  field("New password", input("newPassword", {type: "password", autocomplete: "new-password"}),
        "At least 8 characters."),
  field("Confirm new password", input("confirm", {type: "password",
                                                  autocomplete: "new-password"})));

  main.append(pageHeader("Profile"),
              panel("About you", profileForm),
              panel("Password", passwordForm));
}
