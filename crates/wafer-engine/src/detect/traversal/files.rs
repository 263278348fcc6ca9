//! Files and directories a path in a request has no business reaching,
//! curated by us from what file-read exploits go after: OS account and
//! process files, Windows system files, credentials, VCS metadata, app
//! configuration with secrets, and the config folders of developer and AI
//! coding tools that end up deployed into web roots.
//!
//! Entries are lowercase, `/`-separated; a match must start at a path
//! boundary (start of the value or after `/`) and end at one (the end, or a
//! byte that cannot continue a file name).

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use std::sync::LazyLock;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// Operating system files (`/etc/passwd`, `win.ini`).
    Os,
    /// Credentials, keys, VCS metadata, configuration holding secrets.
    Secret,
    /// Developer / AI tool configuration (`.claude/`, `.cursor/`).
    Tooling,
}

const OS: &[&str] = &[
    "etc/passwd",
    "etc/shadow",
    "etc/group",
    "etc/gshadow",
    "etc/sudoers",
    "etc/hosts",
    "etc/hostname",
    "etc/issue",
    "etc/motd",
    "etc/crontab",
    "etc/fstab",
    "etc/resolv.conf",
    "etc/ssh/",
    "etc/mysql/",
    "etc/my.cnf",
    "etc/os-release",
    "etc/lsb-release",
    "etc/security/",
    "etc/httpd/",
    "etc/apache2/",
    "etc/nginx/",
    "etc/php",
    "etc/master.passwd",
    "etc/profile",
    "etc/environment",
    "etc/inittab",
    "etc/network/",
    "etc/ldap",
    "etc/krb5.conf",
    "etc/exports",
    "etc/aliases",
    "etc/redhat-release",
    "etc/init.d/",
    "etc/cron",
    "etc/pam.d/",
    "etc/login.defs",
    "etc/ssl/private",
    "proc/self/",
    "proc/thread-self/",
    "proc/version",
    "proc/cpuinfo",
    "proc/meminfo",
    "proc/mounts",
    "proc/net/",
    "proc/sched_debug",
    "proc/kcore",
    "proc/kallsyms",
    "proc/1/",
    "proc/cmdline",
    "proc/partitions",
    "sys/class/",
    "sys/class",
    "sys/kernel/",
    "sys/devices/",
    "sys/firmware/",
    "sys/module/",
    "var/log/",
    "var/run/secrets",
    "var/lib/mysql/",
    "var/mail/",
    "var/spool/cron",
    "var/www/.",
    "usr/local/etc/",
    "windows/win.ini",
    "win.ini",
    "boot.ini",
    "system.ini",
    "windows/system32/",
    "system32/config/",
    "system32/drivers/etc/",
    "windows/repair/",
    "windows/panther/",
    "windows/debug/",
    "winnt/",
    "inetpub/",
    "pagefile.sys",
    "documents and settings/",
    "users/administrator/",
    "applicationhost.config",
    "machine.config",
    "php.ini",
    "my.ini",
    "httpd.conf",
    // Windows beyond the classics.
    "windows/system.ini",
    "autoexec.bat",
    "system32/inetsrv/",
    "program files/",
    "programdata/",
    "xampp/",
    "wamp/",
    "wamp64/",
    "boot/grub/",
    // Servers' own logs and configuration.
    "usr/local/apache",
    "usr/local/nginx/",
    "opt/lampp/",
    "apache/logs/",
    "apache2/logs/",
    "apache/conf/",
    "nginx/logs/",
    "nginx.conf",
    "lighttpd.conf",
    "vsftpd.conf",
    "proftpd.conf",
    "tomcat-users.xml",
    "catalina.out",
    "access.log",
    "access_log",
    "error.log",
    "error_log",
    // More of /proc.
    "proc/interrupts",
    "proc/modules",
    "proc/devices",
    "proc/filesystems",
    "proc/stat",
    "proc/uptime",
    "proc/loadavg",
    "proc/config.gz",
    "proc/environ",
];

const SECRET: &[&str] = &[
    ".env",
    ".git/",
    ".git",
    ".gitconfig",
    ".git-credentials",
    ".svn/",
    ".hg/",
    ".bzr/",
    "cvs/root",
    ".htpasswd",
    ".htaccess",
    ".htdigest",
    ".user.ini",
    "web.config",
    "wp-config.php",
    "configuration.php",
    "localsettings.php",
    "config.inc.php",
    "database.yml",
    "secrets.yml",
    "secrets.yaml",
    "credentials.json",
    ".npmrc",
    ".pypirc",
    ".netrc",
    ".pgpass",
    ".my.cnf",
    ".ssh/",
    "id_rsa",
    "id_dsa",
    "id_ecdsa",
    "id_ed25519",
    "authorized_keys",
    "known_hosts",
    ".bash_history",
    ".zsh_history",
    ".sh_history",
    ".mysql_history",
    ".psql_history",
    ".history",
    ".bashrc",
    ".bash_profile",
    ".zshrc",
    ".viminfo",
    ".lesshst",
    ".aws/",
    ".docker/",
    ".dockercfg",
    ".kube/",
    ".azure/",
    ".gcloud/",
    ".config/gcloud",
    ".boto",
    ".s3cfg",
    ".ds_store",
    "web-inf/",
    "meta-inf/",
    ".terraform/",
    "terraform.tfstate",
    ".travis.yml",
    ".gitlab-ci.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
    "wp-content/debug.log",
    "@id/__x00__",
    "@fs/",
    "root/.",
    ".idea/",
    ".vscode/",
    ".composer/auth.json",
    ".secrets",
];

const TOOLING: &[&str] = &[
    ".claude/",
    ".claude.json",
    ".cursor/",
    ".continue/",
    ".aider",
    ".roo/",
    ".zed/",
    ".cline/",
    ".kiro/",
    ".windsurf/",
    ".codex/",
    ".opencode/",
    ".a0proj/",
    ".plandex/",
    ".fabric/",
    ".n8n/",
    ".junie/",
    ".rovodev/",
    ".copilot/",
    ".codeium/",
    ".gemini/",
    ".qwen/",
    ".amazonq/",
    ".augment/",
    ".tabnine/",
    ".sourcegraph/",
    ".aiignore",
    ".cursorignore",
    ".cursorrules",
    ".clinerules",
    ".windsurfrules",
    ".github/copilot-instructions.md",
    ".mcp.json",
];

struct Table {
    ac: AhoCorasick,
    kinds: Vec<(Kind, &'static str)>,
}

static TABLE: LazyLock<Table> = LazyLock::new(|| {
    let mut pats = Vec::new();
    let mut kinds = Vec::new();
    for (list, kind) in [
        (OS, Kind::Os),
        (SECRET, Kind::Secret),
        (TOOLING, Kind::Tooling),
    ] {
        for p in list {
            pats.push(*p);
            kinds.push((kind, *p));
        }
    }
    let ac = AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .kind(Some(AhoCorasickKind::DFA))
        .build(&pats)
        .expect("file patterns build");
    Table { ac, kinds }
});

/// Can this byte continue a file or directory name?
fn name_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-')
}

/// The first listed file in a normalized path (`\` already turned into `/`):
/// its kind, the entry, and where it starts and ends.
pub(super) fn find(norm: &[u8]) -> Option<(Kind, &'static str, usize, usize)> {
    let t = &*TABLE;
    let mut best: Option<(Kind, &'static str, usize, usize)> = None;
    for m in t.ac.find_overlapping_iter(norm) {
        let (s, e) = (m.start(), m.end());
        let before_ok = s == 0 || norm[s - 1] == b'/';
        let pat = t.kinds[m.pattern().as_usize()].1;
        let after_ok = pat.ends_with('/') || e == norm.len() || !name_byte(norm[e]);
        if before_ok && after_ok {
            let (kind, entry) = t.kinds[m.pattern().as_usize()];
            // OS files outrank the rest; otherwise the first found.
            match best {
                Some((Kind::Os, ..)) => {}
                Some(_) if kind != Kind::Os => {}
                _ => best = Some((kind, entry, s, e)),
            }
        }
    }
    best
}

/// Files people name in ordinary text (a search for "edit /etc/hosts", a
/// support question about nginx logs): in prose they count only when a
/// climb reaches them.
pub(super) fn mentioned_in_prose(entry: &str) -> bool {
    const PROSE: &[&str] = &[
        "etc/hosts",
        "etc/hostname",
        "etc/issue",
        "etc/motd",
        "etc/fstab",
        "etc/resolv.conf",
        "etc/os-release",
        "etc/lsb-release",
        "etc/redhat-release",
        "etc/crontab",
        "etc/cron",
        "etc/profile",
        "etc/environment",
        "etc/network/",
        "etc/init.d/",
        "etc/nginx/",
        "etc/apache2/",
        "etc/httpd/",
        "etc/mysql/",
        "etc/my.cnf",
        "etc/php",
        "var/log/",
        "usr/local/etc/",
        "httpd.conf",
        "nginx.conf",
        "php.ini",
        "my.ini",
        "system32/drivers/etc/",
        "windows/system32/",
    ];
    PROSE.contains(&entry)
}
