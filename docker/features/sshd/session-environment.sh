# shellcheck shell=sh
# Login shells (ssh without a command, bash -l): /etc/profile has just reset PATH to the
# distribution's default. Take back the container's PATH, which the dev8 entrypoint saved for SSH
# sessions in ~/.ssh/environment. Installed by docker/features/sshd in /etc/profile.d.
if [ -r "$HOME/.ssh/environment" ]; then
  dev8_path="$(sed -n 's/^PATH=//p' "$HOME/.ssh/environment")"
  if [ -n "$dev8_path" ]; then
    PATH="$dev8_path"
    export PATH
  fi
  unset dev8_path
fi
