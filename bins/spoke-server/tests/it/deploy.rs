//! The deployment files under `deploy/` checked against the server itself.
//!
//! No Docker engine or Kubernetes cluster runs here, so the compose file,
//! the manifests and the Dockerfile are read as data and held against the
//! server's own configuration code: every `SPOKE_*` variable they set is one
//! `spoke-server` reads (`spoke_server::config::KEYS`), the environment each
//! server container gets loads with [`Settings::load`] exactly as the
//! binary's would (so a malformed value fails here, not at deploy time),
//! ports and probes point at the ports those settings say, probe paths are
//! `/health/live` and `/health/ready`, the compose stack, the Kubernetes
//! ConfigMap and `docs/deployment.md` agree, and `docs/runbook.md`'s alerts
//! use metrics the server registers. `nginx -t` on
//! `deploy/nginx/nginx.conf` runs in spoke-stack's tests (tools/spoke-stack), which render it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde_yaml_ng::Value;
use spoke_server::Settings;
use spoke_server::config::{CONFIG_FILE_VAR, ENV_PREFIX, KEYS, RedisTopology};

fn workspace_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative)
}

fn read(relative: &str) -> String {
    let path = workspace_file(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// One YAML document, with `<<` merge keys applied as compose does.
fn yaml(what: &str, text: &str) -> Value {
    let mut value: Value =
        serde_yaml_ng::from_str(text).unwrap_or_else(|e| panic!("{what} is not YAML: {e}"));
    value.apply_merge().unwrap();
    value
}

/// The documents of a multi-document YAML file.
fn documents(relative: &str) -> Vec<Value> {
    let text = read(relative);
    let mut docs = vec![String::new()];
    for line in text.lines() {
        if line.trim_end() == "---" {
            docs.push(String::new());
        } else {
            let current = docs.last_mut().unwrap();
            current.push_str(line);
            current.push('\n');
        }
    }
    docs.iter()
        .map(|doc| yaml(relative, doc))
        .filter(|doc| !doc.is_null())
        .collect()
}

fn string(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        Value::Bool(flag) => flag.to_string(),
        other => panic!("expected a scalar, got {other:?}"),
    }
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_sequence()
        .map(|items| items.iter().map(string).collect())
        .unwrap_or_default()
}

fn mapping_strings(value: &Value) -> BTreeMap<String, String> {
    value
        .as_mapping()
        .map(|map| map.iter().map(|(k, v)| (string(k), string(v))).collect())
        .unwrap_or_default()
}

/// Whether `spoke-server` reads the environment variable `var`.
fn server_reads(var: &str) -> bool {
    var == CONFIG_FILE_VAR
        || var.strip_prefix(ENV_PREFIX).is_some_and(|key| {
            key == key.to_ascii_uppercase() && KEYS.contains(&key.to_ascii_lowercase().as_str())
        })
}

/// The settings a server started with exactly `env` would run with,
/// after checking it sets no `SPOKE_*` variable the server ignores.
fn settings_from(what: &str, env: &BTreeMap<String, String>) -> Settings {
    for var in env.keys().filter(|var| var.starts_with(ENV_PREFIX)) {
        assert!(
            server_reads(var),
            "{what} sets {var}, which spoke-server does not read"
        );
    }
    let vars = env
        .iter()
        .map(|(key, value)| (OsString::from(key), OsString::from(value)));
    Settings::load(None, vars)
        .unwrap_or_else(|e| panic!("{what}: spoke-server would refuse to start: {e}"))
}

/// `KEY=VALUE` lines as compose's `env_file` reads them.
fn env_file(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (key, value) = line
                .split_once('=')
                .unwrap_or_else(|| panic!("not KEY=VALUE: {line}"));
            (key.to_owned(), value.to_owned())
        })
        .collect()
}

/// Compose's interpolation with no variable set (no .env file): every
/// `${NAME:-default}` or `${NAME-default}` becomes its default and `$$` a
/// `$`. A reference without a default fails: the file must work as is.
fn interpolate(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(escaped) = after.strip_prefix('$') {
            out.push('$');
            rest = escaped;
        } else if let Some(braced) = after.strip_prefix('{') {
            let end = braced.find('}').expect("unterminated ${");
            let reference = &braced[..end];
            let (_, default) = reference
                .split_once(":-")
                .or_else(|| reference.split_once('-'))
                .unwrap_or_else(|| panic!("${{{reference}}} has no default"));
            out.push_str(default);
            rest = &braced[end + 1..];
        } else {
            panic!("bare $ in the compose file: {}", &rest[at..]);
        }
    }
    out.push_str(rest);
    out
}

/// `host` and `port` of a URL or `host:port`.
fn host_port(endpoint: &str) -> (String, u16) {
    let without_scheme = endpoint
        .split_once("://")
        .map_or(endpoint, |(_, rest)| rest);
    let authority = without_scheme.split('/').next().unwrap();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let (host, port) = host_port
        .rsplit_once(':')
        .unwrap_or_else(|| panic!("{endpoint} names no port"));
    (host.to_owned(), port.parse().unwrap())
}

/// Every host the settings make the server connect to.
fn dependency_hosts(settings: &Settings) -> Vec<String> {
    let mut hosts = Vec::new();
    if let Some(url) = &settings.postgres.url {
        hosts.push(host_port(url.expose()).0);
    }
    for url in &settings.postgres.replica_urls {
        hosts.push(host_port(url.expose()).0);
    }
    if let Some(endpoint) = &settings.s3.endpoint {
        hosts.push(host_port(endpoint).0);
    }
    if let Some(url) = &settings.redis.url {
        match &url.topology {
            RedisTopology::Standalone { node, .. } => hosts.push(node.host.clone()),
            RedisTopology::Sentinel { sentinels, .. } => {
                hosts.extend(sentinels.iter().map(|node| node.host.clone()));
            }
            RedisTopology::Cluster { nodes } => {
                hosts.extend(nodes.iter().map(|node| node.host.clone()));
            }
        }
    }
    if settings.telemetry.otel.enabled {
        hosts.push(host_port(&settings.telemetry.otel.endpoint).0);
    }
    hosts
}

/// `server <host>:<port>` lines of nginx.conf's upstream blocks.
fn nginx_upstream_servers() -> BTreeSet<(String, u16)> {
    read("deploy/nginx/nginx.conf")
        .lines()
        .filter_map(|line| line.trim().strip_prefix("server "))
        .map(|rest| {
            rest.split_whitespace()
                .next()
                .unwrap()
                .trim_end_matches(';')
        })
        // `server {` opens a server block; upstream servers are host:port.
        .filter(|address| *address != "{")
        .map(host_port)
        .collect()
}

/// The ports nginx.conf listens on.
fn nginx_listen_ports() -> BTreeSet<u16> {
    read("deploy/nginx/nginx.conf")
        .lines()
        .filter_map(|line| line.trim().strip_prefix("listen "))
        .map(|rest| {
            rest.split_whitespace()
                .next()
                .unwrap()
                .trim_end_matches(';')
                .parse()
                .unwrap()
        })
        .collect()
}

#[test]
fn compose_stack_configures_the_servers_it_runs() {
    let compose = yaml(
        "docker-compose.yml",
        &interpolate(&read("deploy/compose/docker-compose.yml")),
    );
    let services = compose["services"].as_mapping().unwrap();
    let names: BTreeSet<String> = services.keys().map(string).collect();
    let spoke: Vec<(String, &Value)> = services
        .iter()
        .filter(|(_, service)| service["build"]["dockerfile"].as_str() == Some("deploy/Dockerfile"))
        .map(|(name, service)| (string(name), service))
        .collect();
    let spoke_names: Vec<&str> = spoke.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(spoke_names, ["spoke-1", "spoke-2", "spoke-3", "migrate"]);

    let mut upstreams = BTreeSet::new();
    let mut volumes = BTreeSet::new();
    for (name, service) in &spoke {
        let mut env = BTreeMap::new();
        for file in strings(&service["env_file"]) {
            env.extend(env_file(&read(&format!("deploy/compose/{file}"))));
        }
        env.extend(mapping_strings(&service["environment"]));
        let settings = settings_from(&format!("compose service {name}"), &env);
        for host in dependency_hosts(&settings) {
            assert!(
                names.contains(&host),
                "{name} connects to {host}, which is no compose service"
            );
        }
        let root = settings
            .storage
            .filesystem_root
            .to_string_lossy()
            .into_owned();
        let mounts = strings(&service["volumes"]);
        let [mount] = mounts.as_slice() else {
            panic!("{name} should mount one volume, at {root}: {mounts:?}");
        };
        let (volume, target) = mount.split_once(':').unwrap();
        assert_eq!(
            target, root,
            "{name}: the volume is not SPOKE_FILESYSTEM_ROOT"
        );
        assert!(
            volumes.insert(volume.to_owned()),
            "{name} shares {volume}: one server per root"
        );
        if name == "migrate" {
            assert_eq!(strings(&service["command"]), ["migrate"]);
            continue;
        }
        assert!(settings.auth.enabled, "{name}: access control is off");
        assert_eq!(
            env.get("SPOKE_AUTH_BOOTSTRAP_TOKEN").map(String::as_str),
            Some(""),
            "{name}: the bootstrap token comes from .env only, with no default"
        );
        let exposed: BTreeSet<String> = strings(&service["expose"]).into_iter().collect();
        let wanted: BTreeSet<String> = [settings.port, settings.health_port]
            .map(|port| port.to_string())
            .into();
        assert_eq!(
            exposed, wanted,
            "{name}: exposed ports differ from its settings"
        );
        upstreams.insert((name.clone(), settings.port));
    }
    assert_eq!(
        nginx_upstream_servers(),
        upstreams,
        "nginx.conf's upstreams are not the compose instances on their SPOKE_PORT"
    );

    let nginx = &services["nginx"];
    assert!(
        strings(&nginx["volumes"])
            .contains(&"../nginx/nginx.conf:/etc/nginx/nginx.conf:ro".to_owned())
    );
    let published: BTreeSet<u16> = strings(&nginx["ports"])
        .iter()
        .map(|mapping| mapping.rsplit(':').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(published, nginx_listen_ports());
}

/// The Kubernetes objects of every manifest (templates included), checking
/// kustomization.yaml lists every one but the templates.
fn k8s_objects() -> Vec<Value> {
    let dir = workspace_file("deploy/k8s");
    let mut files: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".yaml"))
        .collect();
    assert!(files.remove("kustomization.yaml"));
    let kustomization = documents("deploy/k8s/kustomization.yaml");
    let listed: BTreeSet<String> = strings(&kustomization[0]["resources"])
        .into_iter()
        .collect();
    // Templates are filled in and applied by hand, never by `apply -k`.
    let applied: BTreeSet<String> = files
        .iter()
        .filter(|file| !file.ends_with(".template.yaml"))
        .cloned()
        .collect();
    assert_eq!(
        listed, applied,
        "kustomization.yaml does not list exactly the manifests"
    );
    files
        .iter()
        .flat_map(|file| documents(&format!("deploy/k8s/{file}")))
        .collect()
}

fn object<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"].as_str() == Some(kind) && o["metadata"]["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

/// A container's environment: envFrom ConfigMaps and Secrets, then `env`.
fn container_env(objects: &[Value], container: &Value) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    for source in container["envFrom"].as_sequence().into_iter().flatten() {
        if let Some(name) = source["configMapRef"]["name"].as_str() {
            env.extend(mapping_strings(&object(objects, "ConfigMap", name)["data"]));
        }
        if let Some(name) = source["secretRef"]["name"].as_str() {
            env.extend(mapping_strings(
                &object(objects, "Secret", name)["stringData"],
            ));
        }
    }
    for var in container["env"].as_sequence().into_iter().flatten() {
        let name = string(&var["name"]);
        let value = if let Some(value) = var.get("value") {
            string(value)
        } else {
            let secret = &var["valueFrom"]["secretKeyRef"];
            let data = mapping_strings(
                &object(objects, "Secret", secret["name"].as_str().unwrap())["stringData"],
            );
            data.get(secret["key"].as_str().unwrap())
                .unwrap_or_else(|| panic!("{name}: no such key in the Secret"))
                .clone()
        };
        env.insert(name, value);
    }
    env
}

/// `port` as a number: itself, or the container port of that name.
fn container_port(container: &Value, port: &Value) -> u16 {
    if let Some(number) = port.as_u64() {
        return u16::try_from(number).unwrap();
    }
    let name = port.as_str().unwrap();
    container["ports"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|p| p["name"].as_str() == Some(name))
        .and_then(|p| p["containerPort"].as_u64())
        .map(|n| u16::try_from(n).unwrap())
        .unwrap_or_else(|| panic!("no container port named {name}"))
}

fn assert_hardened(what: &str, pod: &Value, container: &Value) {
    assert_eq!(
        pod["securityContext"]["runAsNonRoot"].as_bool(),
        Some(true),
        "{what}"
    );
    let security = &container["securityContext"];
    assert_eq!(
        security["readOnlyRootFilesystem"].as_bool(),
        Some(true),
        "{what}"
    );
    assert_eq!(
        security["allowPrivilegeEscalation"].as_bool(),
        Some(false),
        "{what}"
    );
    assert_eq!(
        strings(&security["capabilities"]["drop"]),
        ["ALL"],
        "{what}"
    );
    assert!(
        container["resources"]["requests"].is_mapping(),
        "{what}: no requests"
    );
    assert!(
        container["resources"]["limits"].is_mapping(),
        "{what}: no limits"
    );
}

fn labels_match(selector: &Value, labels: &Value) -> bool {
    let labels = mapping_strings(labels);
    let selector = mapping_strings(selector);
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

#[test]
fn kubernetes_manifests_configure_and_probe_the_server() {
    let objects = k8s_objects();
    let deployment = object(&objects, "Deployment", "spoke");
    let pod = &deployment["spec"]["template"]["spec"];
    let pod_labels = &deployment["spec"]["template"]["metadata"]["labels"];
    let [container] = pod["containers"].as_sequence().unwrap().as_slice() else {
        panic!("one container expected");
    };
    let settings = settings_from("the Deployment", &container_env(&objects, container));
    assert_hardened("the Deployment", pod, container);
    assert!(settings.auth.enabled, "access control is off");
    // The bootstrap token from a Secret of its own, which may be deleted.
    let bootstrap = container["env"]
        .as_sequence()
        .into_iter()
        .flatten()
        .find(|var| var["name"].as_str() == Some("SPOKE_AUTH_BOOTSTRAP_TOKEN"))
        .expect("no SPOKE_AUTH_BOOTSTRAP_TOKEN");
    let reference = &bootstrap["valueFrom"]["secretKeyRef"];
    assert_eq!(reference["name"].as_str(), Some("spoke-bootstrap"));
    assert_eq!(reference["optional"].as_bool(), Some(true));

    let port_of = |name: &str| container_port(container, &Value::from(name));
    assert_eq!(port_of("http"), settings.port);
    assert_eq!(port_of("health"), settings.health_port);
    for (probe, path) in [
        ("startupProbe", "/health/live"),
        ("livenessProbe", "/health/live"),
        ("readinessProbe", "/health/ready"),
    ] {
        let get = &container[probe]["httpGet"];
        assert_eq!(get["path"].as_str(), Some(path), "{probe}");
        assert_eq!(
            container_port(container, &get["port"]),
            settings.health_port,
            "{probe}"
        );
    }
    assert!(container["lifecycle"]["preStop"].is_mapping(), "no preStop");
    let grace = pod["terminationGracePeriodSeconds"].as_u64().unwrap();
    assert!(
        grace > settings.shutdown_timeout.as_secs(),
        "terminationGracePeriodSeconds {grace} leaves no time to drain"
    );
    let rolling = &deployment["spec"]["strategy"]["rollingUpdate"];
    assert_eq!(rolling["maxUnavailable"].as_u64(), Some(0));
    assert!(pod["affinity"]["podAntiAffinity"].is_mapping());
    let root = settings
        .storage
        .filesystem_root
        .to_string_lossy()
        .into_owned();
    assert!(
        container["volumeMounts"]
            .as_sequence()
            .unwrap()
            .iter()
            .any(|mount| mount["mountPath"].as_str() == Some(root.as_str())),
        "SPOKE_FILESYSTEM_ROOT ({root}) is not a volume: the root filesystem is read-only"
    );

    let service = object(&objects, "Service", "spoke");
    assert!(labels_match(&service["spec"]["selector"], pod_labels));
    let service_ports = service["spec"]["ports"].as_sequence().unwrap();
    for port in service_ports {
        assert_eq!(
            port["port"].as_u64().map(|p| u16::try_from(p).unwrap()),
            Some(container_port(container, &port["targetPort"])),
            "Service port {:?}",
            port["name"]
        );
    }
    let service_port_names: BTreeSet<String> =
        service_ports.iter().map(|p| string(&p["name"])).collect();
    for ingress in objects
        .iter()
        .filter(|o| o["kind"].as_str() == Some("Ingress"))
    {
        for rule in ingress["spec"]["rules"].as_sequence().unwrap() {
            for path in rule["http"]["paths"].as_sequence().unwrap() {
                let backend = &path["backend"]["service"];
                assert_eq!(backend["name"].as_str(), Some("spoke"));
                assert!(service_port_names.contains(&string(&backend["port"]["name"])));
            }
        }
    }

    let hpa = object(&objects, "HorizontalPodAutoscaler", "spoke");
    assert_eq!(hpa["spec"]["minReplicas"].as_u64(), Some(3));
    assert_eq!(hpa["spec"]["maxReplicas"].as_u64(), Some(10));
    assert_eq!(
        hpa["spec"]["scaleTargetRef"]["kind"].as_str(),
        Some("Deployment")
    );
    assert_eq!(
        hpa["spec"]["scaleTargetRef"]["name"].as_str(),
        Some("spoke")
    );
    let pdb = object(&objects, "PodDisruptionBudget", "spoke");
    assert!(labels_match(
        &pdb["spec"]["selector"]["matchLabels"],
        pod_labels
    ));

    let policy = object(&objects, "NetworkPolicy", "spoke");
    assert!(labels_match(
        &policy["spec"]["podSelector"]["matchLabels"],
        pod_labels
    ));
    let allowed: BTreeSet<u64> = policy["spec"]["ingress"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|rule| rule["ports"].as_sequence().unwrap().iter())
        .filter_map(|port| port["port"].as_u64())
        .collect();
    assert_eq!(
        allowed,
        [settings.port, settings.health_port].map(u64::from).into()
    );

    let job = object(&objects, "Job", "spoke-migrate");
    let job_pod = &job["spec"]["template"]["spec"];
    let [migrate] = job_pod["containers"].as_sequence().unwrap().as_slice() else {
        panic!("one container expected");
    };
    assert_eq!(strings(&migrate["args"]), ["migrate"]);
    assert_eq!(migrate["image"], container["image"]);
    settings_from("the migrate Job", &container_env(&objects, migrate));
    assert_hardened("the migrate Job", job_pod, migrate);
}

#[test]
fn backup_cronjob_runs_the_backup_script() {
    let objects = k8s_objects();
    let cronjob = object(&objects, "CronJob", "spoke-backup");
    let pod = &cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    let [container] = pod["containers"].as_sequence().unwrap().as_slice() else {
        panic!("one container expected");
    };
    assert_hardened("the backup CronJob", pod, container);
    let command = strings(&container["command"]);
    let script = command
        .iter()
        .find(|arg| arg.ends_with(".sh"))
        .expect("the CronJob runs no script");
    let script_name = Path::new(script).file_name().unwrap().to_string_lossy();
    let script_text = read(&format!("deploy/scripts/{script_name}"));
    let common = read("deploy/scripts/common.sh");
    for var in container_env(&objects, container).keys() {
        assert!(
            server_reads(var)
                || script_text.contains(var.as_str())
                || common.contains(var.as_str()),
            "the CronJob sets {var}, which neither the server nor {script_name} reads"
        );
    }
}

#[test]
fn compose_and_kubernetes_share_the_server_settings() {
    let shared = env_file(&read("deploy/compose/spoke.env"));
    let objects = k8s_objects();
    let config = mapping_strings(&object(&objects, "ConfigMap", "spoke-config")["data"]);
    for (key, value) in &shared {
        assert_eq!(
            config.get(key),
            Some(value),
            "the ConfigMap's {key} differs from deploy/compose/spoke.env"
        );
    }
    // What the ConfigMap has beyond spoke.env says where dependencies are.
    let compose = yaml(
        "docker-compose.yml",
        &interpolate(&read("deploy/compose/docker-compose.yml")),
    );
    let endpoints = mapping_strings(&compose["x-spoke-endpoints"]);
    for key in config.keys().filter(|key| !shared.contains_key(*key)) {
        assert!(
            endpoints.contains_key(key),
            "the ConfigMap sets {key}, which is neither in spoke.env nor an endpoint"
        );
    }
}

#[test]
fn dockerfile_matches_the_server_defaults() {
    let dockerfile = read("deploy/Dockerfile");
    let instructions: Vec<String> = dockerfile
        .replace("\\\n", " ")
        .lines()
        .map(str::trim)
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(ToOwned::to_owned)
        .collect();
    let arguments = |instruction: &str| -> Vec<String> {
        instructions
            .iter()
            .filter_map(|line| line.strip_prefix(instruction))
            .flat_map(|rest| rest.split_whitespace().map(ToOwned::to_owned))
            .collect()
    };
    let env: BTreeMap<String, String> = arguments("ENV ")
        .iter()
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap();
            (key.to_owned(), value.to_owned())
        })
        .collect();
    let settings = settings_from("the Dockerfile's ENV", &env);
    let exposed: BTreeSet<u16> = arguments("EXPOSE ")
        .iter()
        .map(|p| p.parse().unwrap())
        .collect();
    assert_eq!(exposed, [settings.port, settings.health_port].into());
    let defaults = Settings::default();
    assert_eq!(
        (settings.port, settings.health_port),
        (defaults.port, defaults.health_port)
    );
    let root = settings
        .storage
        .filesystem_root
        .to_string_lossy()
        .into_owned();
    assert_eq!(arguments("VOLUME "), [format!("[\"{root}\"]")]);
    let healthcheck = instructions
        .iter()
        .find(|line| line.starts_with("HEALTHCHECK "))
        .expect("no HEALTHCHECK");
    // `probe` asks the health listener of SPOKE_HEALTH_PORT (from ENV).
    assert!(
        healthcheck
            .ends_with(r#"CMD ["/usr/local/bin/spoke-server", "probe", "--path", "/health/live"]"#),
        "{healthcheck}"
    );
    // The subcommands the deployment files run exist in this build.
    for subcommand in ["probe", "migrate"] {
        let help = std::process::Command::new(env!("CARGO_BIN_EXE_spoke-server"))
            .args([subcommand, "--help"])
            .output()
            .unwrap();
        assert!(
            help.status.success(),
            "spoke-server {subcommand} --help failed"
        );
    }
    assert!(
        instructions
            .iter()
            .any(|line| line.starts_with("USER 10001")),
        "the runtime stage must not run as root"
    );
}

#[test]
fn deployment_guide_lists_every_variable() {
    let guide = read("docs/deployment.md");
    let missing: Vec<String> = KEYS
        .iter()
        .map(|key| format!("`{ENV_PREFIX}{}`", key.to_ascii_uppercase()))
        .filter(|var| !guide.contains(var.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/deployment.md does not document {missing:?}"
    );
}

/// The `spoke_…` identifiers in `text`.
fn metric_names(text: &str) -> BTreeSet<&str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|word| word.starts_with("spoke_"))
        .collect()
}

/// Every metric docs/runbook.md's alerts use is one the server registers
/// (`crates/spoke-server/src/metrics.rs`, where counters are registered
/// without the `_total` the encoder appends, and histograms are sampled as
/// `_bucket`, `_sum` and `_count`). A metric family without samples is not
/// rendered on /metrics at all, so the registrations are the full list.
#[test]
fn runbook_alerts_use_metrics_the_server_registers() {
    let source = read("crates/spoke-server/src/metrics.rs");
    let registered = metric_names(&source);
    assert!(registered.contains("spoke_http_requests"), "{registered:?}");
    let runbook = read("docs/runbook.md");
    let used = metric_names(&runbook);
    assert!(used.len() > 10, "{used:?}");
    let unknown: Vec<&str> = used
        .into_iter()
        .filter(|name| {
            !registered.contains(name)
                && !["_total", "_bucket", "_sum", "_count"]
                    .iter()
                    .filter_map(|suffix| name.strip_suffix(suffix))
                    .any(|family| registered.contains(family))
        })
        .collect();
    assert!(
        unknown.is_empty(),
        "docs/runbook.md uses metrics the server does not register: {unknown:?}"
    );
}

#[test]
fn interpolation_takes_defaults_and_unescapes() {
    assert_eq!(interpolate("a ${X:-b} ${Y-c} $$D"), "a b c $D");
    assert_eq!(
        host_port("postgres://u:p@db:5432/spoke"),
        ("db".to_owned(), 5432)
    );
    assert_eq!(host_port("otel:4317"), ("otel".to_owned(), 4317));
    assert!(
        server_reads("SPOKE_PORT") && !server_reads("SPOKE_NOPE") && !server_reads("SPOKE_port")
    );
}
