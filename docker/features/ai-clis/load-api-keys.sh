# shellcheck shell=sh
# Sourced by the dev8 AI CLI wrappers (POSIX sh). For each API key variable that is unset or empty,
# reads it from the 0600 file the entrypoint stores in ~/.config/dev8/secrets/ and exports it.
# Installed by docker/features/ai-clis as /usr/local/lib/dev8/load-api-keys.sh.
dev8_secrets_dir="${DEV8_SECRETS_DIR:-$HOME/.config/dev8/secrets}"
for dev8_key in ANTHROPIC_API_KEY GEMINI_API_KEY GOOGLE_API_KEY OPENAI_API_KEY GH_TOKEN; do
  dev8_file="$dev8_secrets_dir/$dev8_key"
  [ "$dev8_key" = GH_TOKEN ] && dev8_file="$dev8_secrets_dir/GITHUB_TOKEN"
  eval "dev8_value=\${$dev8_key:-}"
  if [ -z "$dev8_value" ] && [ -r "$dev8_file" ]; then
    dev8_value="$(cat "$dev8_file")"
    [ -n "$dev8_value" ] && eval "export $dev8_key=\"\$dev8_value\""
  fi
done
unset dev8_secrets_dir dev8_key dev8_file dev8_value
