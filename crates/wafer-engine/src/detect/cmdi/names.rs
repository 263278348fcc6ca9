//! The commands an injected shell line runs, curated by us from what attack
//! write-ups and exploit kits invoke, sorted by how much a bare mention says.

use crate::fnv::Fnv;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::LazyLock;

/// How telling a command name is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Tier {
    /// An ordinary word too ("cat", "time", "more", "type"): needs shell-style arguments.
    Word,
    /// An interpreter or shell ("python", "perl", "sh"): common in prose about tech.
    Interp,
    /// Only ever a program name ("whoami", "wget", "certutil").
    Shell,
}

/// Recon, download, network, persistence, Windows LOLBins: never prose.
const SHELL: &[&str] = &[
    "whoami",
    "uname",
    "ifconfig",
    "ipconfig",
    "iwconfig",
    "nslookup",
    "netstat",
    "wget",
    "curl",
    "nc",
    "ncat",
    "netcat",
    "socat",
    "telnet",
    "mkfifo",
    "mknod",
    "certutil",
    "bitsadmin",
    "powershell",
    "pwsh",
    "cmd",
    "systeminfo",
    "tasklist",
    "taskkill",
    "wmic",
    "mshta",
    "rundll32",
    "regsvr32",
    "cscript",
    "wscript",
    "chmod",
    "chown",
    "chgrp",
    "chattr",
    "base64",
    "xxd",
    "hexdump",
    "nmap",
    "masscan",
    "tcpdump",
    "traceroute",
    "tracert",
    "crontab",
    "useradd",
    "usermod",
    "userdel",
    "adduser",
    "visudo",
    "getent",
    "printenv",
    "dmesg",
    "lsof",
    "lsmod",
    "insmod",
    "modprobe",
    "iptables",
    "systemctl",
    "journalctl",
    "cscli",
    "aa-disable",
    "aa-enforce",
    "aa-complain",
    "setenforce",
    "getenforce",
    "kubectl",
    "lwp-download",
    "lwp-request",
    "tftp",
    "scp",
    "sftp",
    "rsync",
    "ssh-keygen",
    "ssh-copy-id",
    "rlogin",
    "rsh",
    "openssl",
    "uuencode",
    "uudecode",
    "gunzip",
    "bunzip2",
    "zcat",
    "xterm",
    "gdb",
    "pip",
    "pip3",
    "pipx",
    "npx",
    "apt-get",
    "aptitude",
    "dpkg",
    "pacman",
    "lastlog",
    "lastlogin",
    "uconv",
    "rmt",
    "rmt-tar",
    "rmt-dump",
    "bsdtar",
    "sqlite3",
    "mysqldump",
    "pg_dump",
    "redis-cli",
    "gawk",
    "nawk",
    "mawk",
    "sed",
    "grep",
    "egrep",
    "fgrep",
    "pkill",
    "killall",
    "poweroff",
    "ifup",
    "ifdown",
    "findstr",
    "icacls",
    "cacls",
    "takeown",
    "schtasks",
    "runas",
    "bcdedit",
    "bcdboot",
    "vssadmin",
    "wevtutil",
    "diskpart",
    "forfiles",
    "regedit",
    "net1",
    "nbtstat",
    "arp",
    "iex",
    "iwr",
    "invoke-expression",
    "invoke-webrequest",
    "invoke-restmethod",
    "start-process",
    "new-object",
    "get-content",
    "set-content",
    "downloadstring",
    "msiexec",
    "installutil",
    "regasm",
    "msbuild",
    "bash",
    "zsh",
    "ksh",
    "dash",
    "csh",
    "tcsh",
    "sha256sum",
    "md5sum",
    "shred",
    "chpasswd",
    "groupadd",
    "setfacl",
    "ip6tables",
    "nft",
    "ufw",
    "tshark",
    "hping3",
    "proxychains",
    "msfconsole",
    "msfvenom",
    "mimikatz",
    "psexec",
    "sqlmap",
];

/// Interpreters and shells: `python`, `sh` are words in tech prose.
const INTERP: &[&str] = &[
    "sh", "ash", "fish", "python", "perl", "ruby", "php", "node", "nodejs", "lua", "java",
    "jshell", "irb", "tclsh", "expect", "awk", "ssh", "gcc", "cc", "g++", "clang", "docker",
    "podman", "npm", "gem", "cpan", "apt", "yum", "dnf", "apk", "rpm", "snap", "brew", "mysql",
    "psql", "mongo", "ftp", "vim", "nano", "emacs", "jq", "strings",
];

/// Ordinary words that are also commands.
const WORD: &[&str] = &[
    "cat",
    "tac",
    "nl",
    "ls",
    "ll",
    "dir",
    "id",
    "pwd",
    "ps",
    "top",
    "htop",
    "env",
    "set",
    "echo",
    "printf",
    "kill",
    "sleep",
    "time",
    "date",
    "who",
    "w",
    "more",
    "less",
    "head",
    "tail",
    "sort",
    "uniq",
    "cut",
    "find",
    "locate",
    "which",
    "whereis",
    "file",
    "stat",
    "touch",
    "rm",
    "cp",
    "mv",
    "ln",
    "mkdir",
    "rmdir",
    "tar",
    "zip",
    "unzip",
    "gzip",
    "bzip2",
    "7z",
    "ping",
    "host",
    "dig",
    "net",
    "type",
    "copy",
    "del",
    "erase",
    "move",
    "ren",
    "start",
    "ver",
    "vol",
    "attrib",
    "mail",
    "du",
    "df",
    "free",
    "last",
    "history",
    "alias",
    "export",
    "source",
    "vi",
    "ed",
    "ex",
    "make",
    "man",
    "wall",
    "at",
    "trap",
    "od",
    "split",
    "rev",
    "paste",
    "expand",
    "fold",
    "diff",
    "cmp",
    "mount",
    "umount",
    "shutdown",
    "reboot",
    "halt",
    "tee",
    "dd",
    "nice",
    "wc",
    "basename",
    "dirname",
    "readlink",
    "realpath",
    "tr",
    "column",
    "base32",
    "xz",
    "perf",
    "flock",
    "cpulimit",
    "sc",
    "hostname",
    "route",
    "netsh",
    "wc.exe",
    "uptime",
    "groups",
    "finger",
    "users",
    "chef",
    "rc",
    "tasks",
    "exit",
    "logout",
    "ifconfig.exe",
    "ll.exe",
    "unset",
    "read",
    "test",
    "xdg-open",
    "open",
    "pushd",
    "popd",
    "cd",
    "reg",
    "ip",
    "passwd",
];

type Names = HashMap<&'static [u8], Tier, BuildHasherDefault<Fnv>>;

static TIERS: LazyLock<Names> = LazyLock::new(|| {
    let mut m = Names::default();
    for (list, tier) in [
        (WORD, Tier::Word),
        (INTERP, Tier::Interp),
        (SHELL, Tier::Shell),
    ] {
        for n in list {
            m.insert(n.as_bytes(), tier);
        }
    }
    m
});

/// Runs another command given as its arguments (`time`, `sudo`, `nohup` ...).
pub(super) fn is_prefix(name: &[u8]) -> bool {
    matches!(
        name,
        b"time"
            | b"sudo"
            | b"doas"
            | b"nohup"
            | b"nice"
            | b"ionice"
            | b"timeout"
            | b"strace"
            | b"ltrace"
            | b"env"
            | b"exec"
            | b"command"
            | b"builtin"
            | b"xargs"
            | b"watch"
            | b"stdbuf"
            | b"flock"
            | b"cpulimit"
            | b"busybox"
            | b"unbuffer"
            | b"setsid"
            | b"chronic"
            | b"taskset"
            | b"catchsegv"
            | b"eval"
    )
}

/// Prefixes that are themselves telling (unlike `time`, `watch`, `env`, `command`).
pub(super) fn is_strong_prefix(name: &[u8]) -> bool {
    matches!(
        name,
        b"sudo"
            | b"doas"
            | b"nohup"
            | b"strace"
            | b"ltrace"
            | b"xargs"
            | b"stdbuf"
            | b"cpulimit"
            | b"busybox"
            | b"unbuffer"
            | b"setsid"
            | b"taskset"
            | b"catchsegv"
            | b"ionice"
    )
}

/// The tier of a (lowercased, de-obfuscated, basename) command name.
pub(super) fn tier(name: &[u8]) -> Option<Tier> {
    if name.is_empty() {
        return None;
    }
    if let Some(t) = versioned(name) {
        return Some(t);
    }
    if name.starts_with(b"ansible") || name.starts_with(b"chef-") {
        return Some(Tier::Shell);
    }
    TIERS.get(name).copied()
}

/// `python3`, `python3.10`, `php7`, `perl5.36`, `gcc10.1`: a known name with a version.
fn versioned(name: &[u8]) -> Option<Tier> {
    let stem_len = name.iter().take_while(|c| c.is_ascii_alphabetic()).count();
    if stem_len == name.len() || stem_len == 0 {
        return None;
    }
    let rest = &name[stem_len..];
    if !rest[0].is_ascii_digit() || !rest.iter().all(|c| c.is_ascii_digit() || *c == b'.') {
        return None;
    }
    match &name[..stem_len] {
        b"python" | b"perl" | b"ruby" | b"php" | b"node" | b"lua" | b"gcc" | b"java" | b"pip"
        | b"tclsh" => Some(Tier::Interp),
        _ => None,
    }
}

/// Commands that mean reconnaissance even with no argument (`;id`, `|ls`).
pub(super) fn is_recon(name: &[u8]) -> bool {
    matches!(
        name,
        b"id"
            | b"ls"
            | b"ll"
            | b"pwd"
            | b"ps"
            | b"env"
            | b"dir"
            | b"ver"
            | b"uptime"
            | b"groups"
            | b"hostname"
            | b"df"
    )
}

/// Programs people name in prose and support requests ("curl returns 403",
/// "grep the logs"): alone with plain words they are not a command line.
pub(super) fn is_talked_about(name: &[u8]) -> bool {
    matches!(
        name,
        b"grep"
            | b"sed"
            | b"curl"
            | b"wget"
            | b"ssh"
            | b"bash"
            | b"zsh"
            | b"passwd"
            | b"chmod"
            | b"chown"
            | b"base64"
            | b"telnet"
            | b"openssl"
            | b"kubectl"
            | b"pip"
            | b"pip3"
            | b"gdb"
            | b"nmap"
            | b"tcpdump"
            | b"traceroute"
            | b"tracert"
            | b"netstat"
            | b"powershell"
            | b"cmd"
            | b"crontab"
            | b"rsync"
            | b"scp"
            | b"sftp"
            | b"tftp"
            | b"systemctl"
            | b"iptables"
            | b"ansible"
            | b"hexdump"
            | b"pacman"
            | b"ipconfig"
            | b"ifconfig"
            | b"nslookup"
            | b"regedit"
            | b"sqlite3"
    )
}

/// Commands that take a host or URL (an address argument is evidence).
pub(super) fn is_network(name: &[u8]) -> bool {
    matches!(
        name,
        b"ping"
            | b"host"
            | b"dig"
            | b"ftp"
            | b"ssh"
            | b"mail"
            | b"finger"
            | b"nc"
            | b"curl"
            | b"wget"
            | b"telnet"
    )
}

/// Paths that a wildcard (`/???/c?t`, `/etc/pa??wd`) is aimed at.
pub(super) const GLOB_TARGETS: &[&[u8]] = &[
    b"/etc/passwd",
    b"/etc/shadow",
    b"/etc/group",
    b"/etc/hosts",
    b"/etc/issue",
    b"/etc/hostname",
    b"/etc/sudoers",
    b"/etc",
    b"/bin",
    b"/sbin",
    b"/usr/bin",
    b"/usr/sbin",
    b"/bin/sh",
    b"/bin/bash",
    b"/bin/dash",
    b"/bin/zsh",
    b"/bin/cat",
    b"/bin/ls",
    b"/bin/nc",
    b"/bin/netcat",
    b"/bin/busybox",
    b"/bin/ping",
    b"/bin/uname",
    b"/bin/echo",
    b"/usr/bin/id",
    b"/usr/bin/whoami",
    b"/usr/bin/wget",
    b"/usr/bin/curl",
    b"/usr/bin/uname",
    b"/usr/bin/python",
    b"/usr/bin/python3",
    b"/usr/bin/perl",
    b"/usr/bin/php",
    b"/usr/bin/nc",
    b"/usr/bin/cat",
    b"/usr/bin/bash",
    b"/usr/bin/env",
    b"/usr/bin/base64",
    b"/sbin/ifconfig",
    b"/proc/self/environ",
    b"/proc/self/cmdline",
    b"/proc/version",
];

/// A path under a binary directory (`/bin/…`, `/usr/sbin/…`).
pub(super) fn is_binary_path(p: &[u8]) -> bool {
    [&b"/bin/"[..], b"/sbin/", b"/usr/bin/", b"/usr/sbin/"]
        .iter()
        .any(|d| p.starts_with(d))
}

/// Shell-style glob match: `*`, `?`, `[...]` with ranges and `!`/`^`, ASCII
/// case-insensitive. Iterative with one backtrack point, so linear-ish.
pub(super) fn glob_match(pat: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pat.len() {
            match pat[p] {
                b'*' => {
                    star = Some((p, t));
                    p += 1;
                    continue;
                }
                b'?' => {
                    p += 1;
                    t += 1;
                    continue;
                }
                b'[' => {
                    if let Some((ok, next)) = class_match(pat, p, text[t]) {
                        if ok {
                            p = next;
                            t += 1;
                            continue;
                        }
                    } else if text[t] == b'[' {
                        p += 1;
                        t += 1;
                        continue;
                    }
                }
                c if c.eq_ignore_ascii_case(&text[t]) => {
                    p += 1;
                    t += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, st)) => {
                p = sp + 1;
                t = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    pat[p..].iter().all(|&c| c == b'*')
}

/// `[...]` at `p`: whether `c` is in the class, and the index after `]`.
fn class_match(pat: &[u8], p: usize, c: u8) -> Option<(bool, usize)> {
    let mut k = p + 1;
    let negate = matches!(pat.get(k), Some(b'!' | b'^'));
    if negate {
        k += 1;
    }
    let first = k;
    let mut hit = false;
    let c = c.to_ascii_lowercase();
    while k < pat.len() && (pat[k] != b']' || k == first) {
        let lo = pat[k].to_ascii_lowercase();
        if pat.get(k + 1) == Some(&b'-') && pat.get(k + 2).is_some_and(|&h| h != b']') {
            let hi = pat[k + 2].to_ascii_lowercase();
            hit |= (lo..=hi).contains(&c);
            k += 3;
        } else {
            hit |= lo == c;
            k += 1;
        }
    }
    if k >= pat.len() {
        return None;
    }
    Some((hit != negate, k + 1))
}

/// A glob word's target, if it aims at one of [`GLOB_TARGETS`].
pub(super) fn glob_target(word: &[u8]) -> Option<&'static [u8]> {
    if !word.starts_with(b"/") || !word.iter().any(|c| matches!(c, b'*' | b'?' | b'[')) {
        return None;
    }
    // All-wildcard words (`/*`, `/*/*`) match anything; require some literal text
    // or a `?` skeleton with at least two segments.
    let segs = word.split(|&c| c == b'/').filter(|s| !s.is_empty()).count();
    let literal = word.iter().filter(|c| c.is_ascii_alphanumeric()).count();
    let question = word.iter().filter(|&&c| c == b'?').count();
    if literal == 0 && (question < 3 || segs < 2) {
        return None;
    }
    GLOB_TARGETS.iter().copied().find(|t| glob_match(word, t))
}

/// A command-name glob (`c?t`, `wh[o]ami`): the command it expands to.
pub(super) fn glob_command(word: &[u8]) -> Option<&'static str> {
    const NAMES: &[&str] = &[
        "cat", "whoami", "uname", "wget", "curl", "bash", "nc", "ncat", "netcat", "python",
        "python3", "perl", "ping", "ifconfig", "passwd", "id", "ls",
    ];
    let literal = word.iter().filter(|c| c.is_ascii_alphanumeric()).count();
    // A lone trailing `?` is punctuation ("who?"), not a wildcard.
    let body = word.strip_suffix(b"?").unwrap_or(word);
    if literal < 2
        || !body.iter().any(|c| matches!(c, b'*' | b'?' | b'['))
        || body.starts_with(b"*")
    {
        return None;
    }
    NAMES
        .iter()
        .copied()
        .find(|n| glob_match(word, n.as_bytes()))
}
