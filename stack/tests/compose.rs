#![cfg(feature = "engine")]
//! docker-compose import and export, on the seed's own file and on bad input.
use stack::compose::{
    export, format_duration, format_memory, import, parse_duration, parse_memory, shell_split,
    ComposeImport,
};
use stack::lifecycle::{Condition, Dependency, Restart, RuntimeOptions, Ulimit, Update};
use stack::model::{HealthCheck, InputError, Job, PortSpec, Resources, ServiceSpec, VolumeSpec};
use std::collections::BTreeMap;

const SEED: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/seed/fixtures/docker-compose.prod.yml"
));

const GIB: u64 = 1024 * 1024 * 1024;

fn ok(yaml: &str) -> ComposeImport {
    import("c.yml", yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"))
}

fn bad(yaml: &str) -> InputError {
    import("c.yml", yaml).expect_err(yaml)
}

fn svc(yaml_body: &str) -> ServiceSpec {
    let yaml = format!("services:\n  app:\n    image: app:1\n{yaml_body}");
    let mut i = ok(&yaml);
    i.services.remove(0)
}

fn find<'a>(i: &'a ComposeImport, name: &str) -> &'a ServiceSpec {
    i.services.iter().find(|s| s.name == name).unwrap()
}

#[test]
fn seed_compose_imports() {
    let i = import("docker-compose.prod.yml", SEED).unwrap();
    let names: Vec<&str> = i.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "authoring",
            "portal",
            "postgres",
            "opensearch",
            "clickhouse",
            "redis",
            "nginx"
        ]
    );

    let a = find(&i, "authoring");
    assert_eq!(a.image, "idp-cms/authoring:latest");
    assert_eq!(a.replicas, 3);
    assert_eq!(
        a.resources,
        Resources {
            cpu_limit: Some(2.0),
            memory_limit: Some(4 * GIB),
            cpu_reservation: Some(1.0),
            memory_reservation: Some(2 * GIB),
        }
    );
    assert_eq!(
        a.env,
        BTreeMap::from([
            (
                "DJANGO_SETTINGS_MODULE".to_string(),
                "authoring.settings.production".to_string()
            ),
            ("MULTI_SITE_ENABLED".to_string(), "true".to_string()),
        ])
    );

    let p = find(&i, "portal");
    assert_eq!(p.replicas, 2);
    assert_eq!(p.resources.cpu_limit, Some(1.0));
    assert_eq!(p.resources.memory_limit, Some(2 * GIB));
    assert_eq!(p.resources.cpu_reservation, None);

    let pg = find(&i, "postgres");
    assert_eq!(pg.image, "postgres:15");
    assert_eq!(pg.replicas, 1, "no deploy.replicas: one replica");
    assert_eq!(
        pg.volumes,
        vec![VolumeSpec {
            source: "postgres_data".into(),
            target: "/var/lib/postgresql/data".into(),
            read_only: false,
            external: false,
        }]
    );
    assert_eq!(i.named_volumes, vec!["postgres_data".to_string()]);

    let os = find(&i, "opensearch");
    assert_eq!(os.env["OPENSEARCH_JAVA_OPTS"], "-Xms4g -Xmx4g");
    assert_eq!(os.env["cluster.name"], "multi-site-cluster");
    assert_eq!(os.env["discovery.type"], "single-node");
    assert_eq!(os.env.len(), 5);
    assert_eq!(os.resources.cpu_limit, Some(4.0));
    assert_eq!(os.resources.memory_limit, Some(8 * GIB));

    assert_eq!(find(&i, "redis").resources.memory_limit, Some(GIB));

    let n = find(&i, "nginx");
    let ports: Vec<(Option<u16>, u16, &str)> = n
        .ports
        .iter()
        .map(|p| (p.host_port, p.container_port, p.protocol.as_str()))
        .collect();
    assert_eq!(ports, [(Some(80), 80, "tcp"), (Some(443), 443, "tcp")]);
    assert_eq!(n.volumes[0].source, "./nginx.conf");
    assert_eq!(n.volumes[1].target, "/etc/nginx/ssl");

    // The seed file says nothing about how containers live: Berth's defaults apply.
    for s in &i.services {
        assert!(s.depends_on.is_empty(), "{}", s.name);
        assert_eq!(s.restart, None, "{}", s.name);
        assert_eq!(s.update, None, "{}", s.name);
        assert!(!s.internal, "{}", s.name);
        assert_eq!(s.runtime, RuntimeOptions::default(), "{}", s.name);
        assert!(s.volumes.iter().all(|v| !v.external), "{}", s.name);
    }

    assert_eq!(i.unsupported.len(), 1, "{:?}", i.unsupported);
    assert_eq!(i.unsupported[0].path, "version");
    assert_eq!(i.unsupported[0].line, 2);
    assert!(i.unsupported[0].message.contains("ignored"));
}

#[test]
fn seed_round_trips_through_export() {
    let i = import("docker-compose.prod.yml", SEED).unwrap();
    let text = export(&i.services);
    let back = import("exported.yml", &text).unwrap();
    assert_eq!(back.services, i.services, "{text}");
    assert!(back.unsupported.is_empty(), "{:?}", back.unsupported);
    assert_eq!(back.named_volumes, i.named_volumes);
}

#[test]
fn rich_service_round_trips() {
    let spec = ServiceSpec {
        name: "authoring".into(),
        image: "idp-cms/authoring:${GIT_SHA}".into(),
        replicas: 0,
        command: vec![
            "gunicorn".into(),
            "-b".into(),
            "0.0.0.0:8000".into(),
            "with space".into(),
            "quote\"s".into(),
            "true".into(),
            "80:80".into(),
        ],
        env: BTreeMap::from([
            ("DJANGO_SECRET_KEY".into(), "${DJANGO_SECRET_KEY}".into()),
            ("DEBUG".into(), "false".into()),
            ("NUM".into(), "0123".into()),
            ("EMPTY".into(), "".into()),
            ("MULTI".into(), "line1\nline2".into()),
            ("YAMLY".into(), "- not: a list # nor a comment".into()),
            ("cluster.name".into(), "c".into()),
            ("NULLISH".into(), "null".into()),
        ]),
        inherit: Some(vec!["SITE_NAME".into(), "DATABASE_URL".into()]),
        ports: vec![
            PortSpec {
                host_ip: "127.0.0.1".into(),
                host_port: Some(8080),
                container_port: 8000,
                protocol: "tcp".into(),
            },
            PortSpec {
                host_ip: "".into(),
                host_port: Some(443),
                container_port: 443,
                protocol: "udp".into(),
            },
            PortSpec {
                host_ip: "::1".into(),
                host_port: None,
                container_port: 9000,
                protocol: "tcp".into(),
            },
        ],
        volumes: vec![
            VolumeSpec {
                source: "media".into(),
                target: "/app/media".into(),
                read_only: false,
                external: false,
            },
            VolumeSpec {
                source: "./conf".into(),
                target: "/etc/conf".into(),
                read_only: true,
                external: false,
            },
            VolumeSpec {
                source: "".into(),
                target: "/tmp/cache".into(),
                read_only: false,
                external: false,
            },
            VolumeSpec {
                source: "".into(),
                target: "/ro-anon".into(),
                read_only: true,
                external: false,
            },
            VolumeSpec {
                source: "/host:odd".into(),
                target: "/odd".into(),
                read_only: false,
                external: false,
            },
        ],
        resources: Resources {
            cpu_limit: Some(1.5),
            memory_limit: Some(512 * 1024 * 1024),
            cpu_reservation: Some(0.25),
            memory_reservation: Some(1000),
        },
        health: Some(HealthCheck {
            http_path: "/api/health".into(),
            command: vec!["curl".into(), "-f".into(), "http://localhost:8000/".into()],
            interval_secs: 90,
            timeout_secs: 5,
            retries: 7,
            start_period_secs: 3600,
        }),
        pre_deploy: vec![
            Job {
                name: "migrate".into(),
                command: vec![
                    "python".into(),
                    "manage.py".into(),
                    "migrate".into(),
                    "--noinput".into(),
                ],
                timeout_secs: 600,
            },
            Job {
                name: "collectstatic".into(),
                command: vec!["python".into(), "manage.py".into(), "collectstatic".into()],
                timeout_secs: 0,
            },
        ],
        http_port: Some(8000),
        update: Some(Update::Rolling),
        depends_on: vec![
            Dependency {
                service: "postgres".into(),
                condition: Condition::ServiceHealthy,
            },
            Dependency {
                service: "migrate".into(),
                condition: Condition::ServiceCompletedSuccessfully,
            },
            Dependency {
                service: "cache".into(),
                condition: Condition::ServiceStarted,
            },
        ],
        restart: Some(Restart::OnFailure { max: Some(5) }),
        internal: false,
        runtime: RuntimeOptions {
            entrypoint: vec!["/bin/sh".into(), "-c".into(), "exec \"$@\"".into()],
            user: "1000:1000".into(),
            working_dir: "/app".into(),
            stop_grace_secs: Some(90),
            shm_size: Some(256 << 20),
            ulimits: BTreeMap::from([
                (
                    "nofile".into(),
                    Ulimit {
                        soft: 20000,
                        hard: 40000,
                    },
                ),
                (
                    "nproc".into(),
                    Ulimit {
                        soft: 65535,
                        hard: 65535,
                    },
                ),
                ("memlock".into(), Ulimit { soft: -1, hard: -1 }),
            ]),
            tmpfs: vec!["/run:size=64m".into(), "/tmp".into()],
            cap_add: vec!["NET_ADMIN".into(), "SYS_PTRACE".into()],
            cap_drop: vec!["ALL".into()],
            extra_hosts: vec![
                "host.docker.internal:host-gateway".into(),
                "db6:::1".into(),
                "db4:10.0.0.5".into(),
            ],
        },
        metrics: Default::default(),
    };
    let other = ServiceSpec {
        name: "portal".into(),
        image: "idp-cms/portal:latest".into(),
        replicas: 2,
        health: Some(HealthCheck {
            http_path: "/".into(),
            interval_secs: 30,
            timeout_secs: 30,
            retries: 3,
            ..Default::default()
        }),
        update: Some(Update::Recreate),
        depends_on: vec![Dependency {
            service: "authoring".into(),
            condition: Condition::ServiceStarted,
        }],
        restart: Some(Restart::No),
        ..Default::default()
    };
    let postgres = ServiceSpec {
        name: "postgres".into(),
        image: "postgres:16".into(),
        replicas: 1,
        inherit: Some(vec![]),
        volumes: vec![VolumeSpec {
            source: "pgdata".into(),
            target: "/var/lib/postgresql/data".into(),
            read_only: false,
            external: true,
        }],
        update: Some(Update::Manual),
        restart: Some(Restart::UnlessStopped),
        internal: true,
        runtime: RuntimeOptions {
            shm_size: Some(1000),
            stop_grace_secs: Some(0),
            ..Default::default()
        },
        ..Default::default()
    };
    let migrate = ServiceSpec {
        name: "migrate".into(),
        image: "idp-cms/authoring:${GIT_SHA}".into(),
        replicas: 1,
        depends_on: vec![Dependency {
            service: "postgres".into(),
            condition: Condition::ServiceHealthy,
        }],
        restart: Some(Restart::OnFailure { max: None }),
        internal: true,
        ..Default::default()
    };
    let cache = ServiceSpec {
        name: "cache".into(),
        image: "redis:7".into(),
        replicas: 1,
        restart: Some(Restart::Always),
        ..Default::default()
    };
    let services = vec![spec, other, postgres, migrate, cache];
    let text = export(&services);
    let back = ok(&text);
    assert_eq!(back.services, services, "{text}");
    // Only the reminder of what Berth's `internal` does not do.
    let notes: Vec<&str> = back.unsupported.iter().map(|u| u.path.as_str()).collect();
    assert_eq!(
        notes,
        ["networks.internal.internal"],
        "{:?}",
        back.unsupported
    );
    assert!(back.unsupported[0]
        .message
        .contains("`postgres`, `migrate`"));
    assert_eq!(
        back.named_volumes,
        vec!["media".to_string(), "pgdata".to_string()]
    );
    // Secrets stay references; the exported file declares the named volumes, the external
    // one as such, and the network that keeps internal services unpublished.
    assert!(text.contains("${DJANGO_SECRET_KEY}"), "{text}");
    assert!(
        text.contains("\nvolumes:\n  media: {}\n  pgdata:\n    external: true\n"),
        "{text}"
    );
    assert!(
        text.ends_with("networks:\n  internal:\n    internal: true\n"),
        "{text}"
    );
    // Compose's own words: `no` quoted for YAML 1.1 parsers, update orders, x-berth manual.
    assert!(text.contains("\n    restart: 'no'\n"), "{text}");
    assert!(text.contains("\n    restart: on-failure:5\n"), "{text}");
    assert!(text.contains("order: start-first"), "{text}");
    assert!(text.contains("order: stop-first"), "{text}");
    assert!(text.contains("update: manual"), "{text}");
    assert!(text.contains("stop_grace_period: 1m30s"), "{text}");
    assert!(text.contains("shm_size: 256M"), "{text}");
    // Export is stable.
    assert_eq!(export(&back.services), text);
}

#[test]
fn environment_forms() {
    let s =
        svc("    environment:\n      - A=1\n      - \"B=two words\"\n      - C=\n      - D=x=y\n");
    assert_eq!(s.env["A"], "1");
    assert_eq!(s.env["B"], "two words");
    assert_eq!(s.env["C"], "");
    assert_eq!(s.env["D"], "x=y");
    let s = svc("    environment:\n      A: 1\n      B: true\n      C: \"x y\"\n      D: 1.5\n      E: ''\n");
    assert_eq!(s.env["A"], "1");
    assert_eq!(s.env["B"], "true");
    assert_eq!(s.env["C"], "x y");
    assert_eq!(s.env["D"], "1.5");
    assert_eq!(s.env["E"], "");
    // Values taken from the shell are the environment's variables the service receives;
    // a name Berth's variables cannot have is reported, not dropped silently.
    let i =
        ok("services:\n  app:\n    image: a\n    environment:\n      - FROM_SHELL\n      - A=1\n");
    assert_eq!(i.services[0].env.len(), 1);
    assert_eq!(i.services[0].inherit, Some(vec!["FROM_SHELL".to_string()]));
    assert!(i.unsupported.is_empty(), "{:?}", i.unsupported);
    let i = ok(
        "services:\n  app:\n    image: a\n    environment:\n      FROM_SHELL:\n      node.name:\n",
    );
    assert_eq!(i.services[0].inherit, Some(vec!["FROM_SHELL".to_string()]));
    assert_eq!(i.unsupported[0].path, "services.app.environment.node.name");
    assert_eq!(i.unsupported[0].line, 6);
    let e = bad("services:\n  app:\n    image: a\n    environment:\n      - A=1\n      - A=2\n");
    assert_eq!(e.field, "services.app.environment[1]");
    assert_eq!(e.line, 6);
    let e = bad("services:\n  app:\n    image: a\n    environment:\n      A: [1, 2]\n");
    assert_eq!(e.field, "services.app.environment.A");
    assert_eq!(e.line, 5);
    let e = bad("services:\n  app:\n    image: a\n    environment: 3\n");
    assert_eq!(e.line, 4);
}

#[test]
fn volume_forms() {
    let s = svc(concat!(
        "    volumes:\n",
        "      - data:/data\n",
        "      - ./conf:/conf:ro\n",
        "      - /var/run/docker.sock:/var/run/docker.sock:rw\n",
        "      - /anon\n",
        "      - type: volume\n",
        "        source: logs\n",
        "        target: /logs\n",
        "        read_only: true\n",
        "      - type: bind\n",
        "        source: /srv\n",
        "        target: /srv\n",
    ));
    let v: Vec<(&str, &str, bool)> = s
        .volumes
        .iter()
        .map(|v| (v.source.as_str(), v.target.as_str(), v.read_only))
        .collect();
    assert_eq!(
        v,
        [
            ("data", "/data", false),
            ("./conf", "/conf", true),
            ("/var/run/docker.sock", "/var/run/docker.sock", false),
            ("", "/anon", false),
            ("logs", "/logs", true),
            ("/srv", "/srv", false),
        ]
    );
    let i = ok(concat!(
        "services:\n  app:\n    image: a\n    volumes:\n",
        "      - data:/data:ro,z\n",
        "      - type: tmpfs\n        target: /tmp\n",
        "      - type: volume\n        source: v\n        target: /v\n        volume:\n          nocopy: true\n",
        "volumes:\n  data:\n    driver: local\n  other:\n",
    ));
    assert_eq!(
        i.services[0].volumes.len(),
        2,
        "tmpfs is reported, not imported"
    );
    assert!(i.services[0].volumes[0].read_only);
    let paths: Vec<(&str, usize)> = i
        .unsupported
        .iter()
        .map(|u| (u.path.as_str(), u.line))
        .collect();
    assert_eq!(
        paths,
        [
            ("volumes.data.driver", 15),
            ("services.app.volumes[0]", 5),
            ("services.app.volumes[1]", 6),
            ("services.app.volumes[2].volume", 11),
        ]
    );
    assert_eq!(i.named_volumes, ["data", "other", "v"]);
    let e = bad("services:\n  app:\n    image: a\n    volumes:\n      - data:relative\n");
    assert_eq!((e.field.as_str(), e.line), ("services.app.volumes[0]", 5));
    let e = bad("services:\n  app:\n    image: a\n    volumes:\n      - a:b:c:d\n");
    assert_eq!(e.line, 5);
    let e = bad("services:\n  app:\n    image: a\n    volumes:\n      - :/x\n");
    assert!(e.message.contains("source"), "{e}");
}

#[test]
fn port_forms() {
    let s = svc(concat!(
        "    ports:\n",
        "      - \"80:80\"\n",
        "      - \"127.0.0.1:8080:80\"\n",
        "      - \"443:443/udp\"\n",
        "      - \"3000\"\n",
        "      - 9090\n",
        "      - \"[::1]:5432:5432\"\n",
        "      - \"127.0.0.1::6379\"\n",
        "      - target: 8000\n",
        "        published: \"8001\"\n",
        "        host_ip: 0.0.0.0\n",
        "        protocol: tcp\n",
        "      - target: 53\n",
        "        published: 53\n",
        "        protocol: udp\n",
    ));
    let p: Vec<(&str, Option<u16>, u16, &str)> = s
        .ports
        .iter()
        .map(|p| {
            (
                p.host_ip.as_str(),
                p.host_port,
                p.container_port,
                p.protocol.as_str(),
            )
        })
        .collect();
    assert_eq!(
        p,
        [
            ("", Some(80), 80, "tcp"),
            ("127.0.0.1", Some(8080), 80, "tcp"),
            ("", Some(443), 443, "udp"),
            ("", None, 3000, "tcp"),
            ("", None, 9090, "tcp"),
            ("::1", Some(5432), 5432, "tcp"),
            ("127.0.0.1", None, 6379, "tcp"),
            ("0.0.0.0", Some(8001), 8000, "tcp"),
            ("", Some(53), 53, "udp"),
        ]
    );
    let i = ok("services:\n  app:\n    image: a\n    ports:\n      - \"8000-8010:8000-8010\"\n      - target: 1\n        mode: host\n");
    assert_eq!(i.services[0].ports.len(), 1);
    assert_eq!(i.unsupported[0].path, "services.app.ports[0]");
    assert_eq!(i.unsupported[0].line, 5);
    assert_eq!(i.unsupported[1].path, "services.app.ports[1].mode");
    assert_eq!(i.unsupported[1].line, 7);
    for (port, field) in [
        ("\"70000:80\"", "services.app.ports[0]"),
        ("\"0:80\"", "services.app.ports[0]"),
        ("\"abc\"", "services.app.ports[0]"),
        ("\"80:80/icmp\"", "services.app.ports[0]"),
        ("\"1:2:3:4\"", "services.app.ports[0]"),
    ] {
        let e = bad(&format!(
            "services:\n  app:\n    image: a\n    ports:\n      - {port}\n"
        ));
        assert_eq!((e.field.as_str(), e.line), (field, 5), "{port}: {e}");
    }
    let e = bad("services:\n  app:\n    image: a\n    ports:\n      - published: 80\n");
    assert!(e.message.contains("target"), "{e}");
}

#[test]
fn healthcheck_forms() {
    let h = svc("    healthcheck:\n      test: [\"CMD\", \"curl\", \"-f\", \"http://localhost/\"]\n      interval: 1m30s\n      timeout: 10s\n      retries: 5\n      start_period: 40s\n").health.unwrap();
    assert_eq!(h.command, ["curl", "-f", "http://localhost/"]);
    assert_eq!(
        (
            h.interval_secs,
            h.timeout_secs,
            h.retries,
            h.start_period_secs
        ),
        (90, 10, 5, 40)
    );
    assert_eq!(h.http_path, "");
    let h = svc(
        "    healthcheck:\n      test: [\"CMD-SHELL\", \"pg_isready -U postgres || exit 1\"]\n",
    )
    .health
    .unwrap();
    assert_eq!(
        h.command,
        ["/bin/sh", "-c", "pg_isready -U postgres || exit 1"]
    );
    assert_eq!(
        (
            h.interval_secs,
            h.timeout_secs,
            h.retries,
            h.start_period_secs
        ),
        (30, 30, 3, 0),
        "compose defaults"
    );
    let h = svc("    healthcheck:\n      test: redis-cli ping\n")
        .health
        .unwrap();
    assert_eq!(h.command, ["/bin/sh", "-c", "redis-cli ping"]);
    assert_eq!(
        svc("    healthcheck:\n      test: [\"NONE\"]\n").health,
        None
    );
    assert_eq!(svc("    healthcheck:\n      disable: true\n").health, None);
    let h = svc("    healthcheck:\n      interval: 5s\n")
        .health
        .unwrap();
    assert!(h.command.is_empty(), "the image's own test");
    let i = ok("services:\n  app:\n    image: a\n    healthcheck:\n      test: [\"CMD\", \"true\"]\n      interval: 1500ms\n      start_interval: 1s\n");
    assert_eq!(i.services[0].health.as_ref().unwrap().interval_secs, 2);
    assert_eq!(i.unsupported[0].path, "services.app.healthcheck.interval");
    assert!(i.unsupported[0].message.contains("rounded"));
    assert_eq!(
        i.unsupported[1].path,
        "services.app.healthcheck.start_interval"
    );
    assert_eq!(i.unsupported[1].line, 7);
    for (body, field, line) in [
        (
            "      interval: soon\n",
            "services.app.healthcheck.interval",
            5,
        ),
        ("      timeout: 10\n", "services.app.healthcheck.timeout", 5),
        ("      retries: -1\n", "services.app.healthcheck.retries", 5),
        (
            "      test: [\"RUN\", \"x\"]\n",
            "services.app.healthcheck.test",
            5,
        ),
        (
            "      test: [\"CMD\"]\n",
            "services.app.healthcheck.test",
            5,
        ),
    ] {
        let e = bad(&format!(
            "services:\n  app:\n    image: a\n    healthcheck:\n{body}"
        ));
        assert_eq!((e.field.as_str(), e.line), (field, line), "{body}: {e}");
    }
}

#[test]
fn command_forms() {
    assert_eq!(
        svc("    command: python manage.py runserver 0.0.0.0:8000\n").command,
        ["python", "manage.py", "runserver", "0.0.0.0:8000"]
    );
    assert_eq!(
        svc("    command: sh -c 'echo \"hi there\" && sleep 1'\n").command,
        ["sh", "-c", "echo \"hi there\" && sleep 1"]
    );
    assert_eq!(
        svc("    command: [\"gunicorn\", \"--workers\", 4]\n").command,
        ["gunicorn", "--workers", "4"]
    );
    let e = bad("services:\n  app:\n    image: a\n    command: echo 'unterminated\n");
    assert_eq!((e.field.as_str(), e.line), ("services.app.command", 4));
}

#[test]
fn shell_split_cases() {
    assert_eq!(shell_split("").unwrap(), Vec::<String>::new());
    assert_eq!(shell_split("  a   b  ").unwrap(), ["a", "b"]);
    assert_eq!(shell_split("a\\ b c").unwrap(), ["a b", "c"]);
    assert_eq!(shell_split("\"a \\\"b\\\" \\n\"").unwrap(), ["a \"b\" \\n"]);
    assert_eq!(shell_split("''").unwrap(), [""]);
    assert_eq!(shell_split("x'y'\"z\"").unwrap(), ["xyz"]);
    assert!(shell_split("\"open").is_err());
    assert!(shell_split("'open").is_err());
}

#[test]
fn unsupported_keys_are_listed_with_lines() {
    let yaml = r#"version: "3.8"
name: idp
x-common: &common
  restart: always
services:
  nginx:
    <<: *common
    image: nginx:alpine
    container_name: edge
    ulimits:
      nofile: 65535
    depends_on: [authoring]
    x-notes: hello
    deploy:
      replicas: 2
      restart_policy:
        condition: on-failure
      resources:
        limits:
          cpus: "0.5"
          memory: 512M
          pids: 100
  authoring:
    build: ./authoring
    image: idp-cms/authoring:latest
    env_file: .env
    privileged: true
networks:
  default: {}
"#;
    let i = ok(yaml);
    let got: Vec<(&str, usize)> = i
        .unsupported
        .iter()
        .map(|u| (u.path.as_str(), u.line))
        .collect();
    assert_eq!(
        got,
        [
            ("version", 1),
            ("name", 2),
            ("x-common", 3),
            ("services.nginx.deploy.resources.limits.pids", 22),
            ("services.nginx.container_name", 9),
            ("services.nginx.x-notes", 13),
            // `restart` (merged in from `x-common`) wins over it.
            ("services.nginx.deploy.restart_policy", 16),
            ("services.authoring.build", 24),
            ("services.authoring.privileged", 27),
        ]
    );
    assert!(i.unsupported[2].message.contains("extension"));
    assert!(i.unsupported[6].message.contains("`restart` applies"));
    assert!(i.unsupported[8].message.contains("privileged"));
    let n = find(&i, "nginx");
    assert_eq!(n.restart, Some(Restart::Always));
    assert_eq!(
        n.runtime.ulimits["nofile"],
        Ulimit {
            soft: 65535,
            hard: 65535
        }
    );
    assert_eq!(n.depends_on.len(), 1);
    assert_eq!(n.replicas, 2);
    assert_eq!(n.resources.cpu_limit, Some(0.5));
    assert_eq!(n.resources.memory_limit, Some(512 * 1024 * 1024));
}

#[test]
fn memory_and_durations() {
    for (text, bytes) in [
        ("4G", 4 * GIB),
        ("512M", 512 << 20),
        ("1g", GIB),
        ("1024k", 1 << 20),
        ("2gb", 2 * GIB),
        ("2GiB", 2 * GIB),
        ("1.5g", 3 * GIB / 2),
        ("1048576", 1 << 20),
        ("100b", 100),
        ("1 G", GIB),
        ("1t", 1 << 40),
    ] {
        assert_eq!(parse_memory(text), Ok(bytes), "{text}");
    }
    for text in [
        "", "G", "4X", "-1G", "4GG", "1.2.3G", ".5G", "five", "4 G B",
    ] {
        assert!(parse_memory(text).is_err(), "{text}");
    }
    for bytes in [1, 1000, 1024, 4 * GIB, 1536 << 20, 3 << 40, GIB + 1] {
        assert_eq!(parse_memory(&format_memory(bytes)), Ok(bytes));
    }
    assert_eq!(format_memory(4 * GIB), "4G");
    assert_eq!(format_memory(1536 << 20), "1536M");
    for (text, secs) in [
        ("30s", 30.0),
        ("1m30s", 90.0),
        ("1h", 3600.0),
        ("500ms", 0.5),
        ("2h3m4s", 7384.0),
    ] {
        assert_eq!(parse_duration(text), Ok(secs), "{text}");
    }
    for text in ["", "30", "s", "1x", "1m-3s", "m30"] {
        assert!(parse_duration(text).is_err(), "{text}");
    }
    for secs in [0, 1, 59, 60, 61, 90, 3600, 3661, 86400] {
        assert_eq!(parse_duration(&format_duration(secs)), Ok(secs as f64));
    }
}

#[test]
fn merge_keys_and_anchors() {
    let i = ok(concat!(
        "x-limits: &limits\n  deploy:\n    replicas: 4\n",
        "services:\n  a:\n    <<: *limits\n    image: a\n  b:\n    <<: *limits\n    image: b\n",
    ));
    assert!(i.services.iter().all(|s| s.replicas == 4));
}

#[test]
fn bad_input_names_field_and_line() {
    // Malformed YAML: the parser's line.
    let e = bad("services:\n  app:\n    image: a\n   bad indent: [\n");
    assert!(e.line >= 4, "{e}");
    assert!(e.message.contains("malformed YAML"), "{e}");
    let e = bad("services:\n  app:\n    image: \"unterminated\n");
    assert!(e.line >= 3, "{e}");
    let e = bad("services:\n  a:\n    image: x\n  a:\n    image: y\n");
    assert!(e.message.contains("duplicate"), "{e}");
    assert!(e.line >= 2, "{e}");
    // Structure.
    assert!(bad("").message.contains("services"));
    assert!(bad("version: '3'\n").message.contains("services"));
    let e = bad("services: [a, b]\n");
    assert_eq!((e.field.as_str(), e.line), ("services", 1));
    let e = bad("- a\n- b\n");
    assert!(e.message.contains("services"), "{e}");
    assert_eq!(bad("services: {}\n").field, "services");
    let e = bad("services:\n  app:\n");
    assert_eq!((e.field.as_str(), e.line), ("services.app", 2));
    let e = bad("services:\n  app:\n    command: x\n");
    assert_eq!((e.field.as_str(), e.line), ("services.app.image", 2));
    let e = bad("services:\n  app:\n    build: .\n");
    assert!(e.message.contains("build"), "{e}");
    // Replicas.
    for (value, what) in [
        ("-1", "negative"),
        ("2.5", "fraction"),
        ("\"3\"", "string"),
        ("[3]", "list"),
        ("99999999999", "too large"),
    ] {
        let e = bad(&format!(
            "services:\n  web:\n    image: a\n    deploy:\n      replicas: {value}\n"
        ));
        assert_eq!(
            (e.field.as_str(), e.line),
            ("services.web.deploy.replicas", 5),
            "{what}: {e}"
        );
    }
    assert!(
        bad("services:\n  web:\n    image: a\n    deploy:\n      replicas: -1\n")
            .message
            .contains("non-negative")
    );
    // Service names.
    for name in ["Web", "-web", "we b", "web.1", "\"\"", &"a".repeat(64)] {
        let e = bad(&format!("services:\n  {name}:\n    image: a\n"));
        assert!(e.message.contains("service name"), "{name}: {e}");
        assert_eq!(e.line, 2, "{name}: {e}");
    }
    // Memory and CPUs.
    let e = bad("services:\n  web:\n    image: a\n    deploy:\n      resources:\n        reservations:\n          memory: lots\n");
    assert_eq!(
        (e.field.as_str(), e.line),
        ("services.web.deploy.resources.reservations.memory", 7)
    );
    assert!(e.message.contains("lots"), "{e}");
    for cpus in ["-1", "0", "abc", "'x'"] {
        let e = bad(&format!("services:\n  web:\n    image: a\n    deploy:\n      resources:\n        limits:\n          cpus: {cpus}\n"));
        assert_eq!(
            (e.field.as_str(), e.line),
            ("services.web.deploy.resources.limits.cpus", 7),
            "{cpus}"
        );
    }
    // The file name is in every error.
    assert_eq!(bad("services: 1\n").file, "c.yml");
    assert!(bad("services: 1\n")
        .to_string()
        .starts_with("c.yml:1: services: "));
}

#[test]
fn berth_extension_is_validated() {
    let s = svc("    x-berth:\n      http_port: 8000\n      health_path: /api/health\n      pre_deploy:\n        - name: migrate\n          command: python manage.py migrate --noinput\n          timeout_secs: 300\n");
    assert_eq!(s.http_port, Some(8000));
    assert_eq!(s.health.unwrap().http_path, "/api/health");
    assert_eq!(
        s.pre_deploy[0].command,
        ["python", "manage.py", "migrate", "--noinput"]
    );
    let e = bad("services:\n  a:\n    image: a\n    x-berth:\n      health_path: api\n");
    assert_eq!(
        (e.field.as_str(), e.line),
        ("services.a.x-berth.health_path", 5)
    );
    let e =
        bad("services:\n  a:\n    image: a\n    x-berth:\n      pre_deploy:\n        - name: x\n");
    assert_eq!(
        (e.field.as_str(), e.line),
        ("services.a.x-berth.pre_deploy[0]", 6)
    );
}

#[test]
fn a_service_receives_what_compose_would_give_it() {
    // No env_file: only the names `environment` passes through (compose takes them from the
    // shell; Berth from the environment's variables).
    let i = ok("services:\n  db:\n    image: a\n    environment:\n      - POSTGRES_USER\n      - POSTGRES_PASSWORD=${DB_PASSWORD}\n      - cluster.name\n  cache:\n    image: b\n");
    assert_eq!(
        find(&i, "db").inherit,
        Some(vec!["POSTGRES_USER".to_string()])
    );
    assert_eq!(find(&i, "cache").inherit, Some(vec![]));
    // An env_file: every variable of the environment.
    let i =
        ok("services:\n  web:\n    image: a\n    env_file: .env\n    environment:\n      - ONLY\n");
    assert_eq!(find(&i, "web").inherit, None);
    // Both round-trip through export.
    for inherit in [
        None,
        Some(vec![]),
        Some(vec!["A".to_string(), "B".to_string()]),
    ] {
        let spec = ServiceSpec {
            name: "web".into(),
            image: "a".into(),
            replicas: 1,
            env: BTreeMap::from([("X".into(), "${A}".into())]),
            inherit: inherit.clone(),
            ..Default::default()
        };
        let text = export(std::slice::from_ref(&spec));
        assert_eq!(ok(&text).services[0].inherit, inherit, "{text}");
    }
}
