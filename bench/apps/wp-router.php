<?php
// Router for `php -S` serving Debian's WordPress (/usr/share/wordpress) the way
// Debian's Apache configuration does: /wp-content/ comes from
// /var/lib/wordpress/wp-content, existing files are served as they are, and
// every other path goes to index.php (so pretty permalinks and /wp-json/ work).
$path = rawurldecode(parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH) ?? '/');
$content = '/var/lib/wordpress/wp-content';
if (strncmp($path, '/wp-content/', 12) === 0) {
    $file = realpath($content . substr($path, 11));
    if ($file === false || !is_file($file)) {
        http_response_code(404);
        return true;
    }
    if (substr($file, -4) === '.php') {
        chdir(dirname($file));
        require $file;
        return true;
    }
    $types = ['css' => 'text/css', 'js' => 'application/javascript', 'json' => 'application/json',
        'svg' => 'image/svg+xml', 'png' => 'image/png', 'jpg' => 'image/jpeg', 'jpeg' => 'image/jpeg',
        'gif' => 'image/gif', 'webp' => 'image/webp', 'woff' => 'font/woff', 'woff2' => 'font/woff2',
        'ttf' => 'font/ttf', 'txt' => 'text/plain', 'html' => 'text/html'];
    $ext = strtolower(pathinfo($file, PATHINFO_EXTENSION));
    header('Content-Type: ' . ($types[$ext] ?? 'application/octet-stream'));
    header('Content-Length: ' . filesize($file));
    readfile($file);
    return true;
}
$root = $_SERVER['DOCUMENT_ROOT'];
if ($path !== '/' && file_exists($root . $path)) {
    return false;
}
$_SERVER['SCRIPT_NAME'] = '/index.php';
require $root . '/index.php';
