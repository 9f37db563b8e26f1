// Pages for people who are not signed in: first-run setup, sign-in, invitations, password reset.

import {api, checkPasswordsMatch, chosenFile, field, form, h, imagePicker, input, avatar}
  from "../ui.js";

const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);

function passwordFields(label = "Password") {
  return [
    field(label, input("password", {type: "password", autocomplete: "new-password", required: true}),
          "At least 8 characters."),
    field("Confirm password", input("confirm", {type: "password", autocomplete: "new-password",
                                                required: true})),
  ];
}

export async function setupPage(card, ctx) {
  const onServer = LOCAL_HOSTS.has(location.hostname);
  card.append(
    h("h1", null, "Welcome to Relay"),
    h("p", {class: "muted"}, "Create the first account. It will be the team's Admin."),
    form({
      submit: "Create admin account",
      onSubmit: async (data) => {
        checkPasswordsMatch(data);
        const body = {email: data.get("email"), displayName: data.get("displayName"),
                      password: data.get("password")};
        const code = String(data.get("setupCode") || "").trim();
        if (code) body.setupCode = code;
        await api("POST", "auth/init", body);
        ctx.signedIn();
        ctx.go("/", {replace: true});
      },
    },
    field("Email", input("email", {type: "email", autocomplete: "email", required: true})),
    field("Display name", input("displayName", {autocomplete: "name"})),
    ...passwordFields(),
    field("Setup code", input("setupCode", {autocomplete: "off", spellcheck: "false"}),
          onServer
            ? "Not needed on this computer. From another computer, use the code `relay serve` printed."
            : "Needed because this page is not open on the relay's own computer: use the code " +
              "`relay serve` printed when it started.")));
}

export async function loginPage(card, ctx) {
  const next = ctx.params.get("next");
  card.append(
    h("h1", null, "Sign in"),
    form({
      submit: "Sign in",
      onSubmit: async (data) => {
        await api("POST", "auth/login", {email: data.get("email"), password: data.get("password")});
        ctx.signedIn();
        ctx.go(next && next.startsWith("/") && !next.startsWith("//") ? next : "/", {replace: true});
      },
    },
    field("Email", input("email", {type: "email", autocomplete: "username", required: true,
                                   autofocus: true})),
    field("Password", input("password", {type: "password", autocomplete: "current-password",
                                         required: true}))),
    h("p", {class: "muted small"},
      "Forgot your password? Ask an Admin of your team for a reset link."));
}

function missingToken(card, what) {
  card.append(h("h1", null, what),
              h("p", {class: "message message-error", role: "alert"},
                "This link is incomplete. Open the full link you were sent."),
              h("p", null, h("a", {href: "/login"}, "Go to sign in")));
}

export async function invitePage(card, ctx) {
  const token = ctx.params.get("token");
  if (!token) return missingToken(card, "Join the team");
  let invitation;
  try {
    invitation = await api("GET", `invitations/verify?token=${encodeURIComponent(token)}`);
  } catch (error) {
    card.append(h("h1", null, "Join the team"),
                h("p", {class: "message message-error", role: "alert"}, error.message),
                h("p", {class: "muted"}, "Ask an Admin of your team for a new invitation."),
                h("p", null, h("a", {href: "/login"}, "Go to sign in")));
    return;
  }
  card.append(
    h("h1", null, "Join the team"),
    h("p", {class: "invite-summary"}, "You are invited to join as ",
      h("strong", {class: "role-badge", "data-testid": "invite-role"}, invitation.role)),
    form({
      submit: "Join",
      onSubmit: async (data) => {
        checkPasswordsMatch(data);
        const body = new FormData();
        body.set("token", token);
        body.set("password", data.get("password"));
        body.set("display_name", data.get("display_name") || "");
        const picture = chosenFile(data, "avatar");
        if (picture) body.set("avatar", picture);
        await api("POST", "invitations/accept", body);
        ctx.signedIn();
        ctx.go("/", {replace: true});
      },
    },
    invitation.email
      ? field("Email", input("email", {value: invitation.email, readOnly: true, type: "email"}))
      : null,
    field("Display name", input("display_name", {autocomplete: "name"}),
          "How your teammates see you. Optional."),
    ...passwordFields("Choose a password"),
    imagePicker("avatar", "Picture (optional)", avatar(null, invitation.email || "?", "lg"),
                "PNG or JPEG, up to 2 MB.")));
}

export async function resetPasswordPage(card, ctx) {
  const token = ctx.params.get("token");
  if (!token) return missingToken(card, "Reset your password");
  try {
    await api("GET", `auth/reset-password/verify?token=${encodeURIComponent(token)}`);
  } catch (error) {
    card.append(h("h1", null, "Reset your password"),
                h("p", {class: "message message-error", role: "alert"}, error.message),
                h("p", {class: "muted"}, "Ask an Admin of your team for a new reset link."),
                h("p", null, h("a", {href: "/login"}, "Go to sign in")));
    return;
  }
  const done = h("div", {hidden: true},
    h("p", {class: "message message-ok", role: "status"},
      "Your password has been changed. Sign in with the new one."),
    h("p", null, h("a", {class: "button primary", href: "/login"}, "Sign in")));
  const resetForm = form({
    submit: "Set new password",
    onSubmit: async (data) => {
      checkPasswordsMatch(data);
      await api("POST", "auth/reset-password", {token, password: data.get("password")});
      resetForm.hidden = true;
      done.hidden = false;
    },
  }, ...passwordFields("New password"));
  card.append(h("h1", null, "Reset your password"), resetForm, done);
}
