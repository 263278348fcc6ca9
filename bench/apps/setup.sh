#!/usr/bin/env bash
# Installs what bench/apps needs, from package registries only, and may be run
# again at any time (every step checks before it acts):
#   - Debian: php-cli + php-mysql (+ gd, xml, mbstring, curl, intl), wordpress and
#     a theme, chromium, sqlmap, wapiti, and nginx + ModSecurity + CRS for the peer;
#   - PyPI: JupyterLab (and pandas) in a venv, ~/.cache/wafer-apps/venv;
#   - npm: playwright-core in bench/apps (package-lock.json);
#   - WordPress on the local MariaDB (root, empty password, 127.0.0.1:3306):
#     database wafer_wp, installed through wp-admin/install.php over HTTP.
# Usage: setup.sh            everything
#        setup.sh wp-reset   drop and reinstall the WordPress site (run.sh does it
#                            before each WordPress run, so every run starts alike)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${WAFER_APPS_CACHE:-$HOME/.cache/wafer-apps}
VENV=$CACHE/venv
WP_DB=wafer_wp
WP_USER=editor
WP_PASS=${WP_PASS:-wafer-apps-Editor-2026}
WP_SETUP_PORT=${WP_SETUP_PORT:-18829}
mkdir -p "$CACHE"

say() { echo "setup: $*" >&2; }

apt_packages() {
  local want=(php-cli php-mysql php-gd php-xml php-mbstring php-curl php-intl wordpress
    wordpress-theme-twentytwentythree chromium sqlmap wapiti nginx libnginx-mod-http-modsecurity
    modsecurity-crs curl)
  local missing=()
  for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "apt-get install ${missing[*]}"
    apt-get update -qq
    # --no-install-recommends: wordpress would otherwise pull every language pack.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  fi
}

mariadb_up() {
  if ! mysqladmin -h127.0.0.1 -uroot ping >/dev/null 2>&1; then
    say "starting MariaDB"
    service mariadb start >&2 || service mysql start >&2
    for _ in $(seq 30); do mysqladmin -h127.0.0.1 -uroot ping >/dev/null 2>&1 && break; sleep 0.5; done
  fi
}

python_venv() {
  if [ ! -x "$VENV/bin/jupyter-lab" ]; then
    say "JupyterLab into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q jupyterlab pandas >&2
  fi
}

node_modules() {
  if [ ! -d "$HERE/node_modules/playwright-core" ]; then
    say "npm ci in $HERE"
    (cd "$HERE" && npm ci --no-audit --no-fund >&2)
  fi
}

# Debian's wp-config.php reads /etc/wordpress/config-<host>.php; the site is
# reached by IP, through whatever port is in front (Wafer, ModSecurity or none),
# so its address is taken from the request's Host.
wp_config() {
  local f=/etc/wordpress/config-127.0.0.1.php
  cat > "$f.new" <<EOF
<?php
// Written by wafer bench/apps/setup.sh.
define('DB_NAME', '$WP_DB');
define('DB_USER', 'root');
define('DB_PASSWORD', '');
define('DB_HOST', '127.0.0.1');
define('WP_CONTENT_DIR', '/var/lib/wordpress/wp-content');
\$wafer_host = preg_replace('/[^0-9a-zA-Z.:\[\]-]/', '', \$_SERVER['HTTP_HOST'] ?? '127.0.0.1');
define('WP_HOME', 'http://' . \$wafer_host);
define('WP_SITEURL', 'http://' . \$wafer_host);
define('WP_CONTENT_URL', 'http://' . \$wafer_host . '/wp-content');
define('FS_METHOD', 'direct');
define('AUTOMATIC_UPDATER_DISABLED', true);
define('WP_HTTP_BLOCK_EXTERNAL', true);
define('DISABLE_WP_CRON', true);
EOF
  mv "$f.new" "$f"
  # Uploads are written by php -S, which runs as whoever runs run.sh.
  mkdir -p /var/lib/wordpress/wp-content/uploads
  chmod 0777 /var/lib/wordpress/wp-content/uploads
}

wp_installed() {
  mysql -h127.0.0.1 -uroot -N -e "SELECT option_value FROM $WP_DB.wp_options WHERE option_name='siteurl'" >/dev/null 2>&1
}

wp_install() {
  mysql -h127.0.0.1 -uroot -e "CREATE DATABASE IF NOT EXISTS $WP_DB CHARACTER SET utf8mb4"
  wp_installed && return 0
  say "installing WordPress (database $WP_DB)"
  php -S 127.0.0.1:$WP_SETUP_PORT -t /usr/share/wordpress "$HERE/wp-router.php" >/dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$WP_SETUP_PORT/wp-login.php" && break; sleep 0.1; done
  curl -s -o /dev/null -w '' "http://127.0.0.1:$WP_SETUP_PORT/wp-admin/install.php?step=2" \
    --data-urlencode "weblog_title=Field Notes" --data-urlencode "user_name=$WP_USER" \
    --data-urlencode "admin_password=$WP_PASS" --data-urlencode "admin_password2=$WP_PASS" \
    --data-urlencode "pw_weak=1" --data-urlencode "admin_email=editor@example.org" \
    --data-urlencode "blog_public=0" --data-urlencode "language=" --data-urlencode "Submit=Install WordPress"
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  wp_installed || { say "WordPress install failed"; return 1; }
  # Pretty permalinks, as nearly every real site has them (and so /wp-json/ URLs).
  mysql -h127.0.0.1 -uroot "$WP_DB" -e \
    "UPDATE wp_options SET option_value='/%year%/%monthnum%/%postname%/' WHERE option_name='permalink_structure'"
}

case ${1:-all} in
  wp-reset)
    mariadb_up
    mysql -h127.0.0.1 -uroot -e "DROP DATABASE IF EXISTS $WP_DB"
    rm -rf /var/lib/wordpress/wp-content/uploads/20*
    wp_config
    wp_install
    ;;
  all)
    apt_packages
    mariadb_up
    python_venv
    node_modules
    wp_config
    wp_install
    say "done"
    ;;
  *) echo "usage: $0 [all|wp-reset]" >&2; exit 2 ;;
esac
