//! The commands an injected shell line runs, curated by us from what attack
//! write-ups and exploit kits invoke, sorted by how much a bare mention says.

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
    Some(match name {
        // Recon, download, network, persistence, Windows LOLBins: never prose.
        b"whoami" | b"uname" | b"ifconfig" | b"ipconfig" | b"iwconfig" | b"nslookup"
        | b"netstat" | b"wget" | b"curl" | b"nc" | b"ncat" | b"netcat" | b"socat" | b"telnet"
        | b"mkfifo" | b"mknod" | b"certutil" | b"bitsadmin" | b"powershell" | b"pwsh" | b"cmd"
        | b"systeminfo" | b"tasklist" | b"taskkill" | b"wmic" | b"mshta" | b"rundll32"
        | b"regsvr32" | b"cscript" | b"wscript" | b"chmod" | b"chown" | b"chgrp" | b"chattr"
        | b"base64" | b"xxd" | b"hexdump" | b"nmap" | b"masscan" | b"tcpdump" | b"traceroute"
        | b"tracert" | b"crontab" | b"useradd" | b"usermod" | b"userdel" | b"adduser"
        | b"visudo" | b"getent" | b"printenv" | b"dmesg" | b"lsof" | b"lsmod" | b"insmod"
        | b"modprobe" | b"iptables" | b"systemctl" | b"journalctl" | b"cscli" | b"aa-disable"
        | b"aa-enforce" | b"aa-complain" | b"setenforce" | b"getenforce" | b"kubectl"
        | b"lwp-download" | b"lwp-request" | b"tftp" | b"scp" | b"sftp" | b"rsync"
        | b"ssh-keygen" | b"ssh-copy-id" | b"rlogin" | b"rsh" | b"openssl" | b"uuencode"
        | b"uudecode" | b"gunzip" | b"bunzip2" | b"zcat" | b"xterm" | b"gdb" | b"pip" | b"pip3"
        | b"pipx" | b"npx" | b"apt-get" | b"aptitude" | b"dpkg" | b"pacman" | b"lastlog"
        | b"lastlogin" | b"uconv" | b"rmt" | b"rmt-tar" | b"rmt-dump" | b"bsdtar" | b"sqlite3"
        | b"mysqldump" | b"pg_dump" | b"redis-cli" | b"gawk" | b"nawk" | b"mawk" | b"sed"
        | b"grep" | b"egrep" | b"fgrep" | b"pkill" | b"killall" | b"poweroff" | b"ifup"
        | b"ifdown" | b"findstr" | b"icacls" | b"cacls" | b"takeown" | b"schtasks" | b"runas"
        | b"bcdedit" | b"bcdboot" | b"vssadmin" | b"wevtutil" | b"diskpart" | b"forfiles"
        | b"regedit" | b"net1" | b"nbtstat" | b"arp" | b"iex" | b"iwr" | b"invoke-expression"
        | b"invoke-webrequest" | b"invoke-restmethod" | b"start-process" | b"new-object"
        | b"get-content" | b"set-content" | b"downloadstring" | b"msiexec" | b"installutil"
        | b"regasm" | b"msbuild" | b"bash" | b"zsh" | b"ksh" | b"dash" | b"csh" | b"tcsh"
        | b"passwd" | b"sha256sum" | b"md5sum" | b"shred" | b"chpasswd" | b"groupadd"
        | b"setfacl" | b"ip6tables" | b"nft" | b"ufw" | b"tshark" | b"hping3" | b"proxychains"
        | b"msfconsole" | b"msfvenom" | b"mimikatz" | b"psexec" | b"sqlmap" => Tier::Shell,
        // Interpreters and shells: `python`, `sh` are words in tech prose.
        b"sh" | b"ash" | b"fish" | b"python" | b"perl" | b"ruby" | b"php" | b"node" | b"nodejs"
        | b"lua" | b"java" | b"jshell" | b"irb" | b"tclsh" | b"expect" | b"awk" | b"ssh"
        | b"gcc" | b"cc" | b"g++" | b"clang" | b"docker" | b"podman" | b"npm" | b"gem"
        | b"cpan" | b"apt" | b"yum" | b"dnf" | b"apk" | b"rpm" | b"snap" | b"brew" | b"mysql"
        | b"psql" | b"mongo" | b"ftp" | b"vim" | b"nano" | b"emacs" | b"jq" | b"strings" => {
            Tier::Interp
        }
        // Ordinary words that are also commands.
        b"cat" | b"tac" | b"nl" | b"ls" | b"ll" | b"dir" | b"id" | b"pwd" | b"ps" | b"top"
        | b"htop" | b"env" | b"set" | b"echo" | b"printf" | b"kill" | b"sleep" | b"time"
        | b"date" | b"who" | b"w" | b"more" | b"less" | b"head" | b"tail" | b"sort" | b"uniq"
        | b"cut" | b"find" | b"locate" | b"which" | b"whereis" | b"file" | b"stat" | b"touch"
        | b"rm" | b"cp" | b"mv" | b"ln" | b"mkdir" | b"rmdir" | b"tar" | b"zip" | b"unzip"
        | b"gzip" | b"bzip2" | b"7z" | b"ping" | b"host" | b"dig" | b"net" | b"type" | b"copy"
        | b"del" | b"erase" | b"move" | b"ren" | b"start" | b"ver" | b"vol" | b"attrib"
        | b"mail" | b"du" | b"df" | b"free" | b"last" | b"history" | b"alias" | b"export"
        | b"source" | b"vi" | b"ed" | b"ex" | b"make" | b"man" | b"wall" | b"at" | b"trap"
        | b"od" | b"split" | b"rev" | b"paste" | b"expand" | b"fold" | b"diff" | b"cmp"
        | b"mount" | b"umount" | b"shutdown" | b"reboot" | b"halt" | b"tee" | b"dd" | b"nice"
        | b"wc" | b"basename" | b"dirname" | b"readlink" | b"realpath" | b"tr" | b"column"
        | b"base32" | b"xz" | b"perf" | b"flock" | b"cpulimit" | b"sc" | b"hostname" | b"route"
        | b"netsh" | b"wc.exe" | b"uptime" | b"groups" | b"finger" | b"users" | b"chef" | b"rc"
        | b"tasks" | b"exit" | b"logout" | b"ifconfig.exe" | b"ll.exe" | b"unset" | b"read"
        | b"test" | b"xdg-open" | b"open" | b"pushd" | b"popd" | b"cd" | b"reg" | b"ip" => {
            Tier::Word
        }
        _ => return None,
    })
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
