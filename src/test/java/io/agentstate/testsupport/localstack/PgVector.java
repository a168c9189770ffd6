package io.agentstate.testsupport.localstack;

import java.io.BufferedInputStream;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;

import org.apache.commons.compress.archivers.ar.ArArchiveEntry;
import org.apache.commons.compress.archivers.ar.ArArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.tukaani.xz.XZInputStream;

/**
 * Makes the pgvector extension available to the PostgreSQL server unpacked by {@link Binaries#postgres()}, building it
 * once and installing it into that server's tree, which then serves as the cache.
 *
 * <p>
 * zonky's server binaries ship no pgvector, no headers and no {@code pg_config}. Debian 12 (what this machine and
 * CI run) does not package pgvector at all, and Debian 13's {@code postgresql-17-pgvector} binary needs a newer glibc
 * than Debian 12 has. So this downloads Debian 13's pgvector source and its {@code postgresql-server-dev-17} headers
 * (the same major version, hence the same extension ABI), and compiles the source with the machine's own C compiler
 * the way pgvector's Makefile and PGXS would, minus {@code -march=native} so the library stays portable. Nothing is
 * installed into the system.
 *
 * <p>
 * System properties {@code agentstate.debian.mirror} (default {@value #DEFAULT_MIRROR}) and
 * {@code agentstate.debian.security-mirror} (default {@value #DEFAULT_SECURITY_MIRROR}) point at other archives.
 */
final class PgVector {

    /** Whether {@code CREATE EXTENSION vector} can work, and either the installed version or why not. */
    record Result(boolean available, String detail) {
    }

    private static final String DEFAULT_MIRROR = "http://deb.debian.org/debian";
    private static final String DEFAULT_SECURITY_MIRROR = "http://deb.debian.org/debian-security";
    private static final String SUITE = "trixie";
    private static final String FALLBACK = "falling back to exact cosine search";
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration RESPONSE_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration DOWNLOAD_TIMEOUT = Duration.ofMinutes(3);
    private static final Duration COMPILE_TIMEOUT = Duration.ofMinutes(10);
    private static final int LOG_TAIL_LINES = 30;
    private static final String WORK_PREFIX = "pgvector-work-";
    private static final String NETWORK_HINT = "check HTTP access to the Debian archive, or point "
            + "-Dagentstate.debian.mirror (and -Dagentstate.debian.security-mirror) at a reachable mirror";

    // PGXS's CFLAGS/CPPFLAGS for a module built with GCC on Linux, plus the vectorisation flags of pgvector's Makefile.
    private static final List<String> CFLAGS = List.of("-O2", "-fPIC", "-fvisibility=hidden", "-D_GNU_SOURCE",
            "-Wall", "-Wmissing-prototypes", "-Wpointer-arith", "-Wdeclaration-after-statement", "-Werror=vla",
            "-Wendif-labels", "-Wmissing-format-attribute", "-Wformat-security", "-fno-strict-aliasing", "-fwrapv",
            "-fexcess-precision=standard", "-Wno-format-truncation", "-Wno-stringop-truncation",
            "-Werror=implicit-function-declaration",
            "-ftree-vectorize", "-fassociative-math", "-fno-signed-zeros", "-fno-trapping-math");

    private static final Object IN_PROCESS_LOCK = new Object();

    private PgVector() {
    }

    /**
     * Ensures {@code home} (a server root with {@code bin/}, {@code lib/postgresql/}, {@code share/postgresql/}) has
     * pgvector: returns at once when it is installed already, otherwise builds it from Debian 13's source under a file
     * lock in {@link Binaries#cacheRoot()}, so concurrent JVMs build it once. The first build downloads about 12 MB and
     * compiles for under a minute; its output goes to {@code pgvector-build.log} in the cache root.
     *
     * <p>
     * Never throws: without network, a C compiler or a working build it returns {@code available == false} with a
     * detail saying what to fix. Files are moved into place one by one with {@code vector.control} last, and only a
     * complete set counts as installed, so an interrupted build is simply redone.
     */
    static Result install(Path home) {
        Optional<String> installed = installedVersion(home);
        if (installed.isPresent()) {
            return new Result(true, "pgvector " + installed.get() + " already installed in " + home);
        }
        Path log = Binaries.cacheRoot().resolve("pgvector-build.log");
        synchronized (IN_PROCESS_LOCK) {
            try {
                Files.createDirectories(Binaries.cacheRoot());
                try (FileChannel channel = FileChannel.open(Binaries.cacheRoot().resolve("pgvector.lock"),
                        StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                        FileLock lock = channel.lock()) {
                    installed = installedVersion(home);
                    if (installed.isPresent()) {
                        return new Result(true, "pgvector " + installed.get() + " installed in " + home
                                + " by a concurrent build");
                    }
                    return new Build(home, log).run();
                }
            } catch (BuildFailure e) {
                return unavailable(e.getMessage(), log);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return unavailable("interrupted while building pgvector", log);
            } catch (Exception | LinkageError e) {
                return unavailable("pgvector build failed: " + e, log);
            }
        }
    }

    private static Result unavailable(String reason, Path log) {
        String detail = "pgvector unavailable: " + reason + "; " + FALLBACK;
        if (Files.exists(log)) {
            detail += ". Build log: " + log;
        }
        return new Result(false, detail);
    }

    private static Optional<String> installedVersion(Path home) {
        Path control = extensionDir(home).resolve("vector.control");
        if (!Files.isRegularFile(control) || !Files.isRegularFile(home.resolve("lib/postgresql/vector.so"))) {
            return Optional.empty();
        }
        try {
            Optional<String> version = controlVersion(Files.readString(control));
            return version.filter(v -> Files.isRegularFile(extensionDir(home).resolve("vector--" + v + ".sql")));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private static Path extensionDir(Path home) {
        return home.resolve("share/postgresql/extension");
    }

    private static Optional<String> controlVersion(String control) {
        Matcher m = Pattern.compile("(?m)^\\s*default_version\\s*=\\s*'([^']+)'").matcher(control);
        return m.find() ? Optional.of(m.group(1)) : Optional.empty();
    }

    /** A failure whose message already says what went wrong and what to do about it. */
    private static final class BuildFailure extends Exception {
        private static final long serialVersionUID = 1L;

        BuildFailure(String message) {
            super(message);
        }
    }

    private record Package(String name, String version, String filename, String sha256, String source,
            String sourceVersion, String archive) {
    }

    private static final class Build {
        private final Path home;
        private final Path log;
        private Path work;
        private final StringBuilder logText = new StringBuilder();
        private final HttpClient http = HttpClient.newBuilder()
                .connectTimeout(CONNECT_TIMEOUT)
                .followRedirects(HttpClient.Redirect.NORMAL)
                .build();
        private final String mirror = trimSlash(System.getProperty("agentstate.debian.mirror", DEFAULT_MIRROR));
        private final String securityMirror = trimSlash(
                System.getProperty("agentstate.debian.security-mirror", DEFAULT_SECURITY_MIRROR));

        Build(Path home, Path log) {
            this.home = home;
            this.log = log;
        }

        Result run() throws Exception {
            long started = System.nanoTime();
            log("pgvector build for " + home + " at " + Instant.now());
            removeLeftovers();
            work = Files.createTempDirectory(Binaries.cacheRoot(), WORK_PREFIX);
            try {
                if (!"amd64".equals(System.getProperty("os.arch"))) {
                    throw new BuildFailure("only amd64 is supported (zonky's binaries and Debian's headers are amd64), "
                            + "this JVM runs on " + System.getProperty("os.arch"));
                }
                Path compiler = compiler();
                String major = serverMajorVersion();
                String devName = "postgresql-server-dev-" + major;
                String vectorName = "postgresql-" + major + "-pgvector";
                Map<String, Package> main = index(mirror, SUITE, Set.of(devName, vectorName));
                Package vector = main.get(vectorName);
                if (vector == null) {
                    throw new BuildFailure("Debian " + SUITE + " has no package " + vectorName + " (index "
                            + indexUrl(mirror, SUITE) + "); this server is PostgreSQL " + major);
                }
                Path include = work.resolve("include");
                Package dev = headers(main.get(devName), devName, major, include);
                Path source = pgvectorSource(vector);
                Makefile makefile = Makefile.read(source);
                Path library = compile(compiler, source, include.resolve("server"), makefile);
                installFiles(source, makefile, library);
                String seconds = String.format("%.1f", (System.nanoTime() - started) / 1e9);
                log("installed pgvector " + makefile.version + " in " + seconds + " s");
                return new Result(true, "pgvector " + makefile.version + " (Debian " + vector.version()
                        + " source, built against " + devName + " " + dev.version() + " with " + compiler + " in "
                        + seconds + " s) installed in " + home);
            } catch (Exception | LinkageError e) {
                log("FAILED: " + e);
                throw e;
            } finally {
                writeLog();
                Binaries.deleteTree(work);
            }
        }

        // Only the lock holder builds, so anything a killed build left behind can go.
        private void removeLeftovers() throws IOException {
            List<Path> stale = new ArrayList<>();
            for (Path dir : List.of(Binaries.cacheRoot(), extensionDir(home), home.resolve("lib/postgresql"))) {
                if (Files.isDirectory(dir)) {
                    try (Stream<Path> entries = Files.list(dir)) {
                        entries.filter(p -> p.getFileName().toString().startsWith(WORK_PREFIX)
                                || p.getFileName().toString().matches("\\.vector.*\\.tmp")).forEach(stale::add);
                    }
                }
            }
            for (Path path : stale) {
                log("removing leftover " + path);
                Binaries.deleteTree(path);
            }
        }

        private Path compiler() throws BuildFailure {
            String path = System.getenv("PATH");
            if (path != null) {
                for (String name : List.of("gcc", "cc")) {
                    for (String dir : path.split(":")) {
                        Path candidate = Path.of(dir.isEmpty() ? "." : dir, name);
                        if (Files.isExecutable(candidate)) {
                            return candidate;
                        }
                    }
                }
            }
            throw new BuildFailure("no C compiler on PATH: install gcc to get pgvector");
        }

        private String serverMajorVersion() throws Exception {
            Path postgres = home.resolve("bin/postgres");
            String output = exec(List.of(postgres.toString(), "--version"), home, Duration.ofSeconds(30)).trim();
            Matcher m = Pattern.compile("PostgreSQL\\)?\\s+(\\d+)").matcher(output);
            if (!m.find()) {
                throw new BuildFailure("cannot tell the server's major version from '" + output + "'");
            }
            return m.group(1);
        }

        private Map<String, Package> index(String base, String suite, Set<String> wanted) throws Exception {
            String url = indexUrl(base, suite);
            byte[] compressed = download(url, null);
            Map<String, Package> found = new HashMap<>();
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(
                    new XZInputStream(new ByteArrayInputStream(compressed)), StandardCharsets.UTF_8))) {
                Map<String, String> fields = new HashMap<>();
                String line;
                do {
                    line = reader.readLine();
                    if (line == null || line.isEmpty()) {
                        String name = fields.get("Package");
                        if (name != null && wanted.contains(name) && fields.containsKey("Filename")) {
                            found.put(name, toPackage(fields, base));
                        }
                        fields.clear();
                    } else if (!Character.isWhitespace(line.charAt(0))) {
                        int colon = line.indexOf(':');
                        if (colon > 0) {
                            fields.put(line.substring(0, colon), line.substring(colon + 1).trim());
                        }
                    }
                } while (line != null);
            }
            log("index " + url + ": " + found.values());
            return found;
        }

        private Package toPackage(Map<String, String> fields, String base) {
            String name = fields.get("Package");
            String version = fields.get("Version");
            String source = fields.getOrDefault("Source", name);
            String sourceVersion = version;
            Matcher m = Pattern.compile("(\\S+)\\s+\\((\\S+)\\)").matcher(source);
            if (m.matches()) {
                source = m.group(1);
                sourceVersion = m.group(2);
            }
            return new Package(name, version, fields.get("Filename"), fields.get("SHA256"), source, sourceVersion,
                    base);
        }

        // Point releases drop superseded files from the main pool; the security archive then has the current ones.
        private Package headers(Package fromMain, String devName, String major, Path include) throws Exception {
            List<String> tried = new ArrayList<>();
            Package candidate = fromMain;
            for (int attempt = 0; attempt < 2; attempt++) {
                if (candidate != null) {
                    String url = candidate.archive() + "/" + candidate.filename();
                    Optional<byte[]> deb = downloadIfPresent(url, candidate.sha256());
                    if (deb.isPresent()) {
                        int files = unpackHeaders(deb.get(), "usr/include/postgresql/" + major + "/server/",
                                include.resolve("server"));
                        if (files == 0) {
                            throw new BuildFailure(url + " holds no usr/include/postgresql/" + major + "/server/");
                        }
                        log("unpacked " + files + " headers from " + url);
                        return candidate;
                    }
                    tried.add(url + " (404)");
                }
                if (attempt == 0) {
                    candidate = index(securityMirror, SUITE + "-security", Set.of(devName)).get(devName);
                    if (candidate == null) {
                        tried.add(devName + " not in " + indexUrl(securityMirror, SUITE + "-security"));
                    }
                }
            }
            throw new BuildFailure("cannot find " + devName + " for Debian " + SUITE + ": "
                    + (tried.isEmpty() ? devName + " is not in " + indexUrl(mirror, SUITE) : String.join(", ", tried)));
        }

        private int unpackHeaders(byte[] deb, String prefix, Path into) throws Exception {
            try (ArArchiveInputStream ar = new ArArchiveInputStream(new ByteArrayInputStream(deb))) {
                ArArchiveEntry entry;
                while ((entry = ar.getNextEntry()) != null) {
                    String name = entry.getName();
                    if (name.startsWith("data.tar")) {
                        return untar(decompress(ar, name), prefix, into);
                    }
                }
            }
            throw new BuildFailure("the .deb has no data.tar member");
        }

        private Path pgvectorSource(Package vector) throws Exception {
            String pool = vector.filename().substring(0, vector.filename().lastIndexOf('/'));
            String dscUrl = vector.archive() + "/" + pool + "/" + vector.source() + "_"
                    + withoutEpoch(vector.sourceVersion()) + ".dsc";
            String dsc = new String(download(dscUrl, null), StandardCharsets.UTF_8);
            Matcher m = Pattern.compile("(?m)^ ([0-9a-f]{64}) \\d+ (\\S+\\.orig\\.tar\\.\\w+)$").matcher(dsc);
            if (!m.find()) {
                throw new BuildFailure("no orig tarball listed in " + dscUrl);
            }
            String tarballUrl = vector.archive() + "/" + pool + "/" + m.group(2);
            byte[] tarball = download(tarballUrl, m.group(1));
            Path into = work.resolve("source");
            untar(decompress(new ByteArrayInputStream(tarball), m.group(2)), "", into);
            log("unpacked " + tarballUrl);
            try (Stream<Path> found = Files.walk(into, 2)) {
                return found.filter(p -> Files.isRegularFile(p.resolve("vector.control"))
                        && Files.isRegularFile(p.resolve("Makefile"))).findFirst()
                        .orElseThrow(() -> new BuildFailure(tarballUrl + " has no Makefile with vector.control"));
            }
        }

        private Path compile(Path compiler, Path source, Path serverInclude, Makefile makefile) throws Exception {
            Path objects = Files.createDirectories(work.resolve("obj"));
            List<String> base = new ArrayList<>();
            base.add(compiler.toString());
            base.addAll(CFLAGS);
            base.addAll(List.of("-I" + source.resolve("src"), "-I" + serverInclude));
            int threads = Math.max(1, Math.min(Runtime.getRuntime().availableProcessors(), makefile.sources.size()));
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            try {
                List<Future<String>> outputs = new ArrayList<>();
                List<Path> built = new ArrayList<>();
                for (String file : makefile.sources) {
                    Path object = objects.resolve(Path.of(file).getFileName().toString().replaceAll("\\.c$", ".o"));
                    built.add(object);
                    List<String> command = new ArrayList<>(base);
                    command.addAll(List.of("-c", source.resolve(file).toString(), "-o", object.toString()));
                    outputs.add(pool.submit(() -> String.join(" ", command) + "\n"
                            + exec(command, source, COMPILE_TIMEOUT)));
                }
                for (Future<String> output : outputs) {
                    try {
                        log(output.get());
                    } catch (ExecutionException e) {
                        throw e.getCause() instanceof Exception cause ? cause : e;
                    }
                }
                Path library = work.resolve("vector.so");
                List<String> link = new ArrayList<>(List.of(compiler.toString(), "-shared", "-fPIC", "-o",
                        library.toString()));
                built.forEach(o -> link.add(o.toString()));
                link.addAll(List.of("-Wl,--as-needed", "-lm"));
                log(String.join(" ", link) + "\n" + exec(link, source, COMPILE_TIMEOUT));
                return library;
            } finally {
                pool.shutdownNow();
            }
        }

        private void installFiles(Path source, Makefile makefile, Path library) throws IOException {
            Path extensions = Files.createDirectories(extensionDir(home));
            Path libraries = Files.createDirectories(home.resolve("lib/postgresql"));
            try (Stream<Path> sql = Files.list(source.resolve("sql"))) {
                for (Path upgrade : sql.filter(p -> p.getFileName().toString().matches("vector--.+--.+\\.sql"))
                        .collect(Collectors.toList())) {
                    place(upgrade, extensions.resolve(upgrade.getFileName().toString()), "rw-r--r--");
                }
            }
            place(source.resolve("sql/vector.sql"), extensions.resolve("vector--" + makefile.version + ".sql"),
                    "rw-r--r--");
            place(library, libraries.resolve("vector.so"), "rwxr-xr-x");
            place(source.resolve("vector.control"), extensions.resolve("vector.control"), "rw-r--r--");
        }

        private void place(Path from, Path to, String permissions) throws IOException {
            Path temp = Files.createTempFile(to.getParent(), "." + to.getFileName(), ".tmp");
            try {
                Files.copy(from, temp, StandardCopyOption.REPLACE_EXISTING);
                Files.setPosixFilePermissions(temp, PosixFilePermissions.fromString(permissions));
                Files.move(temp, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } finally {
                Files.deleteIfExists(temp);
            }
        }

        private String exec(List<String> command, Path dir, Duration timeout) throws Exception {
            Path output = Files.createTempFile(work, "output", ".txt");
            Process process = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectOutput(output.toFile()).start();
            try {
                if (!process.waitFor(timeout.toSeconds(), TimeUnit.SECONDS)) {
                    throw new BuildFailure(command.get(0) + " did not finish within " + timeout.toSeconds() + " s");
                }
            } finally {
                process.destroyForcibly();
            }
            String text = new String(Files.readAllBytes(output), StandardCharsets.UTF_8);
            if (process.exitValue() != 0) {
                log(String.join(" ", command) + "\n" + text);
                throw new BuildFailure(Path.of(command.get(0)).getFileName() + " failed with exit code "
                        + process.exitValue() + ":\n" + tail(text));
            }
            return text;
        }

        private Optional<byte[]> downloadIfPresent(String url, String sha256) throws Exception {
            HttpResponse<byte[]> response = get(url);
            if (response.statusCode() == 404) {
                log("404 " + url);
                return Optional.empty();
            }
            return Optional.of(checked(url, response, sha256));
        }

        private byte[] download(String url, String sha256) throws Exception {
            return checked(url, get(url), sha256);
        }

        private HttpResponse<byte[]> get(String url) throws Exception {
            HttpRequest request = HttpRequest.newBuilder(URI.create(url)).timeout(RESPONSE_TIMEOUT).GET().build();
            var pending = http.sendAsync(request, HttpResponse.BodyHandlers.ofByteArray());
            try {
                return pending.get(DOWNLOAD_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                pending.cancel(true);
                throw new BuildFailure("downloading " + url + " took over " + DOWNLOAD_TIMEOUT.toSeconds() + " s");
            } catch (ExecutionException e) {
                throw new BuildFailure("cannot download " + url + " (" + describe(e.getCause()) + "); " + NETWORK_HINT);
            }
        }

        private byte[] checked(String url, HttpResponse<byte[]> response, String sha256) throws Exception {
            if (response.statusCode() != 200) {
                throw new BuildFailure("HTTP " + response.statusCode() + " for " + url + "; " + NETWORK_HINT);
            }
            byte[] body = response.body();
            log("downloaded " + url + " (" + body.length + " bytes)");
            if (sha256 != null) {
                String actual = sha256(body);
                if (!actual.equalsIgnoreCase(sha256)) {
                    throw new BuildFailure("checksum mismatch for " + url + ": expected " + sha256 + ", got " + actual);
                }
            }
            return body;
        }

        private void log(String text) {
            logText.append(text);
            if (!text.endsWith("\n")) {
                logText.append('\n');
            }
        }

        private void writeLog() {
            try {
                Files.writeString(log, logText);
            } catch (IOException ignored) {
                // The log is a diagnostic aid; failing to write it must not hide the build's own result.
            }
        }
    }

    /** What pgvector's Makefile says: the extension version and the C sources behind its OBJS. */
    private static final class Makefile {
        final String version;
        final List<String> sources;

        private Makefile(String version, List<String> sources) {
            this.version = version;
            this.sources = sources;
        }

        static Makefile read(Path source) throws IOException, BuildFailure {
            String text = Files.readString(source.resolve("Makefile")).replace("\\\n", " ");
            Matcher version = Pattern.compile("(?m)^EXTVERSION\\s*=\\s*(\\S+)").matcher(text);
            Matcher objs = Pattern.compile("(?m)^OBJS\\s*=(.*)$").matcher(text);
            if (!version.find() || !objs.find()) {
                throw new BuildFailure("pgvector's Makefile has no EXTVERSION or OBJS; the build recipe has changed");
            }
            List<String> sources = new ArrayList<>();
            for (String object : objs.group(1).trim().split("\\s+")) {
                sources.add(object.replaceAll("\\.o$", ".c"));
            }
            for (String file : sources) {
                if (!Files.isRegularFile(source.resolve(file))) {
                    throw new BuildFailure("pgvector's Makefile lists " + file + ", which the tarball lacks");
                }
            }
            Optional<String> control = controlVersion(Files.readString(source.resolve("vector.control")));
            if (control.isPresent() && !control.get().equals(version.group(1))) {
                throw new BuildFailure("pgvector's Makefile says " + version.group(1) + " but vector.control says "
                        + control.get());
            }
            return new Makefile(version.group(1), sources);
        }
    }

    private static InputStream decompress(InputStream in, String name) throws IOException, BuildFailure {
        InputStream buffered = new BufferedInputStream(in);
        if (name.endsWith(".xz")) {
            return new XZInputStream(buffered);
        }
        if (name.endsWith(".gz")) {
            return new GZIPInputStream(buffered);
        }
        if (name.endsWith(".tar")) {
            return buffered;
        }
        throw new BuildFailure("cannot unpack " + name + ": only .tar, .tar.gz and .tar.xz are supported");
    }

    // Unpacks regular files under prefix (leading "./" ignored) into the directory, with prefix removed.
    private static int untar(InputStream in, String prefix, Path into) throws IOException {
        int count = 0;
        try (TarArchiveInputStream tar = new TarArchiveInputStream(in)) {
            TarArchiveEntry entry;
            while ((entry = tar.getNextEntry()) != null) {
                String name = entry.getName().startsWith("./") ? entry.getName().substring(2) : entry.getName();
                if (!entry.isFile() || !name.startsWith(prefix)) {
                    continue;
                }
                Path out = into.resolve(name.substring(prefix.length())).normalize();
                if (!out.startsWith(into)) {
                    throw new IOException("Archive entry escapes the target: " + entry.getName());
                }
                Files.createDirectories(out.getParent());
                Files.copy(tar, out, StandardCopyOption.REPLACE_EXISTING);
                count++;
            }
        }
        return count;
    }

    private static String indexUrl(String base, String suite) {
        return base + "/dists/" + suite + "/main/binary-amd64/Packages.xz";
    }

    private static String trimSlash(String url) {
        return url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
    }

    private static String withoutEpoch(String version) {
        int colon = version.indexOf(':');
        return colon < 0 ? version : version.substring(colon + 1);
    }

    private static String sha256(byte[] data) throws NoSuchAlgorithmException {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    }

    private static String describe(Throwable error) {
        List<String> parts = new ArrayList<>();
        for (Throwable t = error; t != null && parts.size() < 4; t = t.getCause()) {
            parts.add(t.getMessage() == null ? t.getClass().getSimpleName()
                    : t.getClass().getSimpleName() + ": " + t.getMessage());
        }
        return String.join(" <- ", parts);
    }

    private static String tail(String text) {
        String[] lines = text.split("\n");
        int from = Math.max(0, lines.length - LOG_TAIL_LINES);
        return String.join("\n", Arrays.asList(lines).subList(from, lines.length));
    }
}
