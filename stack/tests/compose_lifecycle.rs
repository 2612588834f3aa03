#![cfg(feature = "engine")]
//! docker-compose import of how containers live (`depends_on`, `restart`, update order,
//! container options, external volumes, networks), on files shaped like well-known
//! self-hosted apps and on each form and error.
use stack::compose::{export, import, ComposeImport};
use stack::lifecycle::{
    start_order, Condition, Dependency, Restart, RuntimeOptions, Ulimit, Update,
};
use stack::model::{InputError, ServiceSpec, VolumeSpec};
use std::collections::BTreeMap;

const MIB: u64 = 1024 * 1024;

fn ok(yaml: &str) -> ComposeImport {
    import("c.yml", yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"))
}

fn bad(yaml: &str) -> InputError {
    import("c.yml", yaml).expect_err(yaml)
}

fn svc(yaml_body: &str) -> ServiceSpec {
    ok(&format!("services:\n  app:\n    image: app:1\n{yaml_body}"))
        .services
        .remove(0)
}

fn find<'a>(i: &'a ComposeImport, name: &str) -> &'a ServiceSpec {
    i.services
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no service {name}"))
}

/// `(path, line)` of every note.
fn notes(i: &ComposeImport) -> Vec<(&str, usize)> {
    i.unsupported
        .iter()
        .map(|u| (u.path.as_str(), u.line))
        .collect()
}

fn dep(service: &str, condition: Condition) -> Dependency {
    Dependency {
        service: service.into(),
        condition,
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Nextcloud/Plausible-shaped: postgres and redis on an internal backend network, a web app
/// waiting for a healthy database and a one-shot migration, a worker, a backup job on an
/// external volume.
const APP_STACK: &str = r#"# An app like Plausible or Nextcloud, as people run them.
name: cloud

x-restart: &restart
  restart: unless-stopped

services:
  db:
    <<: *restart
    image: postgres:16-alpine
    environment:
      POSTGRES_DB: app
      POSTGRES_USER: app
      POSTGRES_PASSWORD: ${DB_PASSWORD}
    volumes:
      - db-data:/var/lib/postgresql/data
    healthcheck:
      test: ["CMD-SHELL", "pg_isready -U app -d app"]
      interval: 10s
      timeout: 5s
      retries: 5
      start_period: 30s
    stop_grace_period: 1m30s
    shm_size: 256m
    networks:
      - backend

  redis:
    image: redis:7-alpine
    restart: unless-stopped
    command: redis-server --save 60 1 --loglevel warning
    volumes:
      - redis-data:/data
    healthcheck:
      test: ["CMD", "redis-cli", "ping"]
    networks:
      backend:
        aliases:
          - cache

  web:
    image: ghcr.io/example/app:2.1.4
    restart: unless-stopped
    depends_on:
      db:
        condition: service_healthy
        restart: true
      redis:
        condition: service_started
      migrate:
        condition: service_completed_successfully
    environment:
      DATABASE_URL: postgres://app:${DB_PASSWORD}@db:5432/app
      REDIS_URL: redis://redis:6379
    ports:
      - "127.0.0.1:8000:8000"
    volumes:
      - uploads:/var/lib/app/uploads
    ulimits:
      nofile:
        soft: 65535
        hard: 65535
    tmpfs:
      - /tmp
      - /run:size=64m
    cap_drop:
      - ALL
    cap_add:
      - NET_BIND_SERVICE
    extra_hosts:
      - "host.docker.internal:host-gateway"
    user: "1000:1000"
    working_dir: /app
    stop_grace_period: 30s
    deploy:
      replicas: 2
      update_config:
        order: start-first
        parallelism: 1
      resources:
        limits:
          memory: 1G
    x-berth:
      http_port: 8000
      health_path: /api/health
    networks:
      - frontend
      - backend

  migrate:
    image: ghcr.io/example/app:2.1.4
    entrypoint: ["/app/bin/migrate"]
    command: up
    restart: "no"
    depends_on:
      db:
        condition: service_healthy
    environment:
      DATABASE_URL: postgres://app:${DB_PASSWORD}@db:5432/app
    networks:
      - backend

  worker:
    image: ghcr.io/example/app:2.1.4
    command: ["bundle", "exec", "sidekiq"]
    depends_on: [db, redis]
    environment:
      DATABASE_URL: postgres://app:${DB_PASSWORD}@db:5432/app
      REDIS_URL: redis://redis:6379
    stop_grace_period: 2m
    deploy:
      restart_policy:
        condition: on-failure
        max_attempts: 5
        delay: 5s
      update_config:
        order: stop-first
    networks:
      - backend

  backup:
    image: prodrigestivill/postgres-backup-local:16
    restart: on-failure:3
    depends_on:
      - db
    volumes:
      - backups:/backups
    x-berth:
      update: manual
    networks: [backend]

volumes:
  db-data:
  redis-data:
  uploads:
  backups:
    external: true
    name: nas-backups

networks:
  frontend:
  backend:
    internal: true
    driver: bridge
"#;

#[test]
fn an_app_stack_imports_with_nothing_essential_dropped() {
    let i = import("docker-compose.yml", APP_STACK).unwrap();
    let names: Vec<&str> = i.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["db", "redis", "web", "migrate", "worker", "backup"]);

    let db = find(&i, "db");
    assert_eq!(
        db.restart,
        Some(Restart::UnlessStopped),
        "merged from x-restart"
    );
    assert_eq!(db.update, None);
    assert!(db.depends_on.is_empty());
    assert!(db.internal);
    assert_eq!(
        db.runtime,
        RuntimeOptions {
            stop_grace_secs: Some(90),
            shm_size: Some(256 * MIB),
            ..Default::default()
        }
    );
    assert_eq!(
        db.volumes,
        [VolumeSpec {
            source: "db-data".into(),
            target: "/var/lib/postgresql/data".into(),
            read_only: false,
            external: false,
        }]
    );
    let h = db.health.as_ref().unwrap();
    assert_eq!(h.command, ["/bin/sh", "-c", "pg_isready -U app -d app"]);
    assert_eq!(
        (
            h.interval_secs,
            h.timeout_secs,
            h.retries,
            h.start_period_secs
        ),
        (10, 5, 5, 30)
    );

    let redis = find(&i, "redis");
    assert_eq!(redis.restart, Some(Restart::UnlessStopped));
    assert!(redis.internal, "only on backend, through the mapping form");
    assert_eq!(redis.runtime, RuntimeOptions::default());
    assert_eq!(
        redis.command,
        ["redis-server", "--save", "60", "1", "--loglevel", "warning"]
    );

    let web = find(&i, "web");
    assert_eq!(web.restart, Some(Restart::UnlessStopped));
    assert_eq!(web.update, Some(Update::Rolling));
    assert_eq!(web.replicas, 2);
    assert_eq!(web.resources.memory_limit, Some(1024 * MIB));
    assert!(!web.internal, "also on frontend");
    assert_eq!(
        web.depends_on,
        [
            dep("db", Condition::ServiceHealthy),
            dep("redis", Condition::ServiceStarted),
            dep("migrate", Condition::ServiceCompletedSuccessfully),
        ]
    );
    assert_eq!(
        web.runtime,
        RuntimeOptions {
            entrypoint: vec![],
            user: "1000:1000".into(),
            working_dir: "/app".into(),
            stop_grace_secs: Some(30),
            shm_size: None,
            ulimits: BTreeMap::from([(
                "nofile".to_string(),
                Ulimit {
                    soft: 65535,
                    hard: 65535
                }
            )]),
            tmpfs: strings(&["/tmp", "/run:size=64m"]),
            cap_add: strings(&["NET_BIND_SERVICE"]),
            cap_drop: strings(&["ALL"]),
            extra_hosts: strings(&["host.docker.internal:host-gateway"]),
        }
    );
    assert_eq!(web.http_port, Some(8000));
    assert_eq!(web.health.as_ref().unwrap().http_path, "/api/health");
    assert_eq!(web.ports[0].host_port, Some(8000));

    let migrate = find(&i, "migrate");
    assert_eq!(migrate.restart, Some(Restart::No), "quoted \"no\"");
    assert_eq!(migrate.runtime.entrypoint, ["/app/bin/migrate"]);
    assert_eq!(migrate.command, ["up"]);
    assert_eq!(migrate.depends_on, [dep("db", Condition::ServiceHealthy)]);
    assert!(migrate.internal);

    let worker = find(&i, "worker");
    assert_eq!(
        worker.restart,
        Some(Restart::OnFailure { max: Some(5) }),
        "from deploy.restart_policy"
    );
    assert_eq!(worker.update, Some(Update::Recreate));
    assert_eq!(worker.runtime.stop_grace_secs, Some(120));
    assert_eq!(
        worker.depends_on,
        [
            dep("db", Condition::ServiceStarted),
            dep("redis", Condition::ServiceStarted)
        ],
        "the short form: service_started, as in compose"
    );
    assert!(worker.internal);

    let backup = find(&i, "backup");
    assert_eq!(backup.restart, Some(Restart::OnFailure { max: Some(3) }));
    assert_eq!(backup.update, Some(Update::Manual));
    assert_eq!(
        backup.volumes,
        [VolumeSpec {
            source: "nas-backups".into(),
            target: "/backups".into(),
            read_only: false,
            external: true,
        }],
        "the external volume, under its own name"
    );
    assert!(backup.internal);

    assert_eq!(
        i.named_volumes,
        ["db-data", "nas-backups", "redis-data", "uploads"]
    );
    assert_eq!(
        start_order(&i.services).unwrap(),
        ["db", "redis", "migrate", "web", "worker", "backup"]
    );

    // Exactly what is not applied, where it is written.
    assert_eq!(
        notes(&i),
        [
            ("name", 2),
            ("x-restart", 4),
            ("networks.backend.driver", 144),
            ("services.redis.networks.backend.aliases", 38),
            ("services.web.depends_on.db.restart", 47),
            ("services.web.deploy.update_config.parallelism", 79),
            ("services.worker.deploy.restart_policy.delay", 115),
            ("networks.backend.internal", 143),
        ],
        "{:#?}",
        i.unsupported
    );
    let message = |path: &str| {
        &i.unsupported
            .iter()
            .find(|u| u.path == path)
            .unwrap()
            .message
    };
    assert!(message("networks.backend.driver").contains("one network"));
    assert!(message("services.redis.networks.backend.aliases").contains("service name"));
    assert!(message("services.web.depends_on.db.restart").contains("does not restart `web`"));
    assert!(message("networks.backend.internal")
        .contains("`db`, `redis`, `migrate`, `worker`, `backup`"));
    assert!(message("networks.backend.internal").contains("outbound"));

    // What Berth keeps goes back out and in unchanged.
    let text = export(&i.services);
    let back = ok(&text);
    assert_eq!(back.services, i.services, "{text}");
    assert_eq!(back.named_volumes, i.named_volumes);
}

/// Gitea's documented PostgreSQL setup, as it stands in its installation guide.
const GITEA: &str = r#"version: "3"

networks:
  gitea:
    external: false

services:
  server:
    image: gitea/gitea:1.22.1
    container_name: gitea
    environment:
      - USER_UID=1000
      - USER_GID=1000
      - GITEA__database__DB_TYPE=postgres
      - GITEA__database__HOST=db:5432
      - GITEA__database__NAME=gitea
      - GITEA__database__USER=gitea
      - GITEA__database__PASSWD=gitea
    restart: always
    networks:
      - gitea
    volumes:
      - ./gitea:/data
      - /etc/timezone:/etc/timezone:ro
      - /etc/localtime:/etc/localtime:ro
    ports:
      - "3000:3000"
      - "222:22"
    depends_on:
      - db

  db:
    image: postgres:14
    restart: always
    environment:
      - POSTGRES_USER=gitea
      - POSTGRES_PASSWORD=gitea
      - POSTGRES_DB=gitea
    networks:
      - gitea
    volumes:
      - ./postgres:/var/lib/postgresql/data
"#;

#[test]
fn gitea_imports_as_documented() {
    let i = import("docker-compose.yml", GITEA).unwrap();
    let server = find(&i, "server");
    assert_eq!(server.restart, Some(Restart::Always));
    assert_eq!(server.depends_on, [dep("db", Condition::ServiceStarted)]);
    assert!(!server.internal);
    assert_eq!(server.ports.len(), 2);
    assert_eq!(server.volumes.len(), 3);
    assert_eq!(server.env["GITEA__database__HOST"], "db:5432");
    let db = find(&i, "db");
    assert_eq!(db.restart, Some(Restart::Always));
    assert!(!db.internal);
    assert_eq!(db.volumes[0].source, "./postgres");
    // Only what Berth does itself: its network (`external: false` is compose's default),
    // container names.
    assert_eq!(
        notes(&i),
        [("version", 1), ("services.server.container_name", 10)],
        "{:#?}",
        i.unsupported
    );
}

/// Nextcloud's FPM example: the cron container swaps the entrypoint, volumes carry SELinux
/// labels, variables come from an env file.
const NEXTCLOUD: &str = r#"services:
  db:
    image: postgres:alpine
    restart: always
    volumes:
      - db:/var/lib/postgresql/data:Z
    env_file:
      - db.env

  redis:
    image: redis:alpine
    restart: always

  app:
    image: nextcloud:fpm-alpine
    restart: always
    volumes:
      - nextcloud:/var/www/html:z
    environment:
      - POSTGRES_HOST=db
      - REDIS_HOST=redis
    env_file:
      - db.env
    depends_on:
      - db
      - redis

  web:
    image: nginx:alpine
    restart: always
    ports:
      - 127.0.0.1:8080:80
    volumes:
      - nextcloud:/var/www/html:z,ro
    depends_on:
      - app

  cron:
    image: nextcloud:fpm-alpine
    restart: always
    volumes:
      - nextcloud:/var/www/html:z
    entrypoint: /cron.sh
    depends_on:
      - db
      - redis

volumes:
  db:
  nextcloud:
"#;

#[test]
fn nextcloud_imports_with_its_cron_entrypoint() {
    let i = import("docker-compose.yml", NEXTCLOUD).unwrap();
    assert!(i
        .services
        .iter()
        .all(|s| s.restart == Some(Restart::Always) && !s.internal));
    let cron = find(&i, "cron");
    assert_eq!(cron.runtime.entrypoint, ["/cron.sh"]);
    assert_eq!(cron.command, Vec::<String>::new());
    assert_eq!(
        cron.depends_on,
        [
            dep("db", Condition::ServiceStarted),
            dep("redis", Condition::ServiceStarted)
        ]
    );
    assert_eq!(
        find(&i, "web").depends_on,
        [dep("app", Condition::ServiceStarted)]
    );
    assert!(find(&i, "web").volumes[0].read_only);
    assert_eq!(
        start_order(&i.services).unwrap(),
        ["db", "redis", "app", "web", "cron"]
    );
    // The SELinux relabel options, and nothing else.
    assert_eq!(
        notes(&i),
        [
            ("services.db.volumes[0]", 6),
            ("services.app.volumes[0]", 18),
            ("services.web.volumes[0]", 34),
            ("services.cron.volumes[0]", 42),
        ],
        "{:#?}",
        i.unsupported
    );
    assert!(i.unsupported[0].message.contains("`Z`"));
}

#[test]
fn depends_on_forms() {
    let base = "services:\n  db:\n    image: postgres\n  cache:\n    image: redis\n  web:\n    image: app\n";
    let i = ok(&format!("{base}    depends_on: [db, cache]\n"));
    assert_eq!(
        find(&i, "web").depends_on,
        [
            dep("db", Condition::ServiceStarted),
            dep("cache", Condition::ServiceStarted)
        ]
    );
    let i = ok(&format!(
        "{base}    depends_on:\n      db:\n        condition: service_healthy\n        restart: true\n        required: true\n      cache:\n        condition: service_started\n        restart: false\n"
    ));
    assert_eq!(
        find(&i, "web").depends_on,
        [
            dep("db", Condition::ServiceHealthy),
            dep("cache", Condition::ServiceStarted)
        ]
    );
    // `restart: true` is not applied; `required: true` is what Berth does anyway.
    assert_eq!(notes(&i), [("services.web.depends_on.db.restart", 11)]);

    // An optional dependency: kept (with a note) when the service exists, dropped (with a
    // note) when it does not.
    let i = ok(&format!(
        "{base}    depends_on:\n      db:\n        condition: service_healthy\n        required: false\n      search:\n        condition: service_started\n        required: false\n        x-why: later\n"
    ));
    assert_eq!(
        find(&i, "web").depends_on,
        [dep("db", Condition::ServiceHealthy)]
    );
    assert_eq!(
        notes(&i),
        [
            ("services.web.depends_on.db.required", 11),
            ("services.web.depends_on.search.x-why", 15),
            ("services.web.depends_on.search.required", 14),
        ]
    );
    assert!(i.unsupported[2].message.contains("dropped"));

    // Unknown sub-keys are noted, not refused.
    let i = ok(&format!(
        "{base}    depends_on:\n      db:\n        condition: service_healthy\n        someday: true\n"
    ));
    assert_eq!(notes(&i), [("services.web.depends_on.db.someday", 11)]);

    for (body, field, line, words) in [
        (
            "    depends_on:\n      db:\n        condition: service_ready\n",
            "services.web.depends_on.db.condition",
            10,
            "service_ready",
        ),
        (
            "    depends_on:\n      db:\n        restart: true\n",
            "services.web.depends_on.db",
            9,
            "condition",
        ),
        (
            "    depends_on:\n      db: service_healthy\n",
            "services.web.depends_on.db",
            9,
            "mapping",
        ),
        (
            "    depends_on:\n      db:\n        condition: service_healthy\n        required: maybe\n",
            "services.web.depends_on.db.required",
            11,
            "maybe",
        ),
        (
            "    depends_on: [db, db]\n",
            "services.web.depends_on[1]",
            8,
            "twice",
        ),
        ("    depends_on: db\n", "services.web.depends_on", 8, "list"),
    ] {
        let e = bad(&format!("{base}{body}"));
        assert_eq!((e.field.as_str(), e.line), (field, line), "{body}: {e}");
        assert!(e.message.contains(words), "{body}: {e}");
    }
}

#[test]
fn depends_on_unknown_services_and_cycles_are_refused() {
    let e = bad("services:\n  web:\n    image: app\n    depends_on:\n      - db\n      - search\n  db:\n    image: postgres\n");
    assert_eq!(
        (e.field.as_str(), e.line),
        ("services.web.depends_on[1]", 6),
        "{e}"
    );
    assert!(e.message.contains("`search`"), "{e}");
    let e = bad("services:\n  web:\n    image: app\n    depends_on:\n      db:\n        condition: service_healthy\n");
    assert_eq!(
        (e.field.as_str(), e.line),
        ("services.web.depends_on.db", 5)
    );
    assert!(e.message.contains("`db`"), "{e}");
    let e = bad("services:\n  web:\n    image: app\n    depends_on: [web]\n");
    assert!(e.message.contains("itself"), "{e}");
    assert_eq!(e.line, 4);

    let e = bad(concat!(
        "services:\n",
        "  web:\n    image: app\n    depends_on: [api]\n",
        "  api:\n    image: api\n    depends_on:\n      db:\n        condition: service_healthy\n",
        "  db:\n    image: postgres\n    depends_on: [web]\n",
    ));
    assert!(e.message.contains("cycle"), "{e}");
    assert!(e.message.contains("web → api → db → web"), "{e}");
    assert_eq!(
        (e.field.as_str(), e.line),
        ("services.web.depends_on[0]", 4),
        "{e}"
    );
    assert_eq!(e.file, "c.yml");
}

#[test]
fn restart_forms() {
    for (value, restart) in [
        ("no", Restart::No),
        ("\"no\"", Restart::No),
        ("'no'", Restart::No),
        ("false", Restart::No),
        ("always", Restart::Always),
        ("unless-stopped", Restart::UnlessStopped),
        ("on-failure", Restart::OnFailure { max: None }),
        ("on-failure:5", Restart::OnFailure { max: Some(5) }),
    ] {
        assert_eq!(
            svc(&format!("    restart: {value}\n")).restart,
            Some(restart),
            "{value}"
        );
    }
    assert_eq!(svc("").restart, None, "Berth's default applies");
    for value in [
        "sometimes",
        "true",
        "on-failure:x",
        "on-failure:-1",
        "3",
        "[always]",
    ] {
        let e = bad(&format!(
            "services:\n  app:\n    image: a\n    restart: {value}\n"
        ));
        assert_eq!(
            (e.field.as_str(), e.line),
            ("services.app.restart", 4),
            "{value}: {e}"
        );
        assert!(e.message.contains("unless-stopped"), "{value}: {e}");
    }
}

#[test]
fn deploy_restart_policy_stands_in_for_restart() {
    for (policy, restart) in [
        ("condition: none", Restart::No),
        ("condition: any", Restart::Always),
        ("condition: on-failure", Restart::OnFailure { max: None }),
        (
            "condition: on-failure\n        max_attempts: 3",
            Restart::OnFailure { max: Some(3) },
        ),
        ("max_attempts: 3", Restart::Always),
        ("delay: 5s", Restart::Always),
    ] {
        let s = svc(&format!(
            "    deploy:\n      restart_policy:\n        {policy}\n"
        ));
        assert_eq!(s.restart, Some(restart), "{policy}");
    }
    // max_attempts only limits on-failure; other keys are noted.
    let i = ok("services:\n  a:\n    image: a\n    deploy:\n      restart_policy:\n        condition: any\n        max_attempts: 2\n        window: 60s\n");
    assert_eq!(
        notes(&i),
        [
            ("services.a.deploy.restart_policy.window", 8),
            ("services.a.deploy.restart_policy.max_attempts", 7),
        ]
    );
    // `restart` wins, whatever the order.
    let i = ok("services:\n  a:\n    image: a\n    deploy:\n      restart_policy:\n        condition: none\n    restart: always\n");
    assert_eq!(i.services[0].restart, Some(Restart::Always));
    assert_eq!(notes(&i), [("services.a.deploy.restart_policy", 5)]);
    assert!(i.unsupported[0].message.contains("`restart` applies"));
    let e = bad("services:\n  a:\n    image: a\n    deploy:\n      restart_policy:\n        condition: sometimes\n");
    assert_eq!(
        (e.field.as_str(), e.line),
        ("services.a.deploy.restart_policy.condition", 6)
    );
    let e = bad("services:\n  a:\n    image: a\n    deploy:\n      restart_policy:\n        condition: on-failure\n        max_attempts: -1\n");
    assert_eq!(e.line, 7, "{e}");
}

#[test]
fn update_order_and_berth_manual() {
    let s = svc("    deploy:\n      update_config:\n        order: start-first\n");
    assert_eq!(s.update, Some(Update::Rolling));
    let s = svc("    deploy:\n      update_config:\n        order: stop-first\n");
    assert_eq!(s.update, Some(Update::Recreate));
    assert_eq!(svc("").update, None, "by the service's shape");
    let s = svc("    x-berth:\n      update: manual\n");
    assert_eq!(s.update, Some(Update::Manual));
    // Other update_config keys are noted.
    let i = ok("services:\n  a:\n    image: a\n    deploy:\n      update_config:\n        parallelism: 2\n        delay: 10s\n        failure_action: rollback\n");
    assert_eq!(i.services[0].update, None);
    assert_eq!(
        notes(&i),
        [
            ("services.a.deploy.update_config.parallelism", 6),
            ("services.a.deploy.update_config.delay", 7),
            ("services.a.deploy.update_config.failure_action", 8),
        ]
    );
    // x-berth wins over the order, and says so.
    let i = ok("services:\n  a:\n    image: a\n    x-berth:\n      update: manual\n    deploy:\n      update_config:\n        order: stop-first\n");
    assert_eq!(i.services[0].update, Some(Update::Manual));
    assert_eq!(notes(&i), [("services.a.x-berth.update", 5)]);
    let e = bad(
        "services:\n  a:\n    image: a\n    deploy:\n      update_config:\n        order: random\n",
    );
    assert_eq!(
        (e.field.as_str(), e.line),
        ("services.a.deploy.update_config.order", 6)
    );
    let e = bad("services:\n  a:\n    image: a\n    x-berth:\n      update: blue-green\n");
    assert_eq!((e.field.as_str(), e.line), ("services.a.x-berth.update", 5));
    assert!(e.message.contains("manual"), "{e}");
    // Each strategy goes back out and in.
    for update in [Update::Rolling, Update::Recreate, Update::Manual] {
        let spec = ServiceSpec {
            name: "a".into(),
            image: "a".into(),
            replicas: 1,
            update: Some(update),
            ..Default::default()
        };
        let text = export(std::slice::from_ref(&spec));
        let back = ok(&text);
        assert_eq!(back.services, [spec], "{text}");
        assert!(back.unsupported.is_empty(), "{text}");
    }
}

#[test]
fn runtime_option_forms() {
    let s = svc(concat!(
        "    entrypoint: /docker-entrypoint.sh --verbose 'a b'\n",
        "    user: 1000\n",
        "    working_dir: /srv/app\n",
        "    stop_grace_period: 1500ms\n",
        "    shm_size: 1g\n",
        "    tmpfs: /run\n",
        "    ulimits:\n",
        "      nproc: 65535\n",
        "      nofile:\n",
        "        soft: 20000\n",
        "        hard: 40000\n",
        "      memlock: -1\n",
        "      core: \"0\"\n",
    ));
    assert_eq!(
        s.runtime,
        RuntimeOptions {
            entrypoint: strings(&["/docker-entrypoint.sh", "--verbose", "a b"]),
            user: "1000".into(),
            working_dir: "/srv/app".into(),
            stop_grace_secs: Some(2),
            shm_size: Some(1024 * MIB),
            ulimits: BTreeMap::from([
                (
                    "nproc".to_string(),
                    Ulimit {
                        soft: 65535,
                        hard: 65535
                    }
                ),
                (
                    "nofile".to_string(),
                    Ulimit {
                        soft: 20000,
                        hard: 40000
                    }
                ),
                ("memlock".to_string(), Ulimit { soft: -1, hard: -1 }),
                ("core".to_string(), Ulimit { soft: 0, hard: 0 }),
            ]),
            tmpfs: strings(&["/run"]),
            ..Default::default()
        }
    );
    assert_eq!(
        svc("    shm_size: 67108864\n").runtime.shm_size,
        Some(64 * MIB)
    );
    assert_eq!(
        svc("    entrypoint: [\"tini\", \"--\"]\n")
            .runtime
            .entrypoint,
        ["tini", "--"]
    );
    assert_eq!(
        svc("    cap_add: [SYS_ADMIN, NET_ADMIN]\n    cap_drop: [MKNOD]\n").runtime,
        RuntimeOptions {
            cap_add: strings(&["SYS_ADMIN", "NET_ADMIN"]),
            cap_drop: strings(&["MKNOD"]),
            ..Default::default()
        }
    );
    // Whole seconds, rounded up, with a note.
    let i = ok("services:\n  a:\n    image: a\n    stop_grace_period: 1500ms\n");
    assert_eq!(notes(&i), [("services.a.stop_grace_period", 4)]);
    // An empty entrypoint would clear the image's: Berth cannot, and says so.
    for value in ["''", "[]"] {
        let i = ok(&format!(
            "services:\n  a:\n    image: a\n    entrypoint: {value}\n"
        ));
        assert!(i.services[0].runtime.entrypoint.is_empty());
        assert_eq!(notes(&i), [("services.a.entrypoint", 4)], "{value}");
    }
    for (body, field, line) in [
        (
            "    entrypoint: \"sh -c 'open\"\n",
            "services.app.entrypoint",
            4,
        ),
        ("    working_dir: relative\n", "services.app.working_dir", 4),
        (
            "    stop_grace_period: soon\n",
            "services.app.stop_grace_period",
            4,
        ),
        (
            "    stop_grace_period: 10\n",
            "services.app.stop_grace_period",
            4,
        ),
        ("    shm_size: lots\n", "services.app.shm_size", 4),
        ("    shm_size: -1\n", "services.app.shm_size", 4),
        ("    tmpfs: run\n", "services.app.tmpfs", 4),
        (
            "    tmpfs:\n      - /tmp\n      - tmp\n",
            "services.app.tmpfs[1]",
            6,
        ),
        ("    cap_add: SYS_ADMIN\n", "services.app.cap_add", 4),
        ("    cap_add: [A, A]\n", "services.app.cap_add[1]", 4),
        ("    cap_drop: [1]\n", "services.app.cap_drop[0]", 4),
        (
            "    ulimits:\n      nofile: many\n",
            "services.app.ulimits.nofile",
            5,
        ),
        (
            "    ulimits:\n      nofile:\n        soft: 1\n",
            "services.app.ulimits.nofile",
            5,
        ),
        (
            "    ulimits:\n      NOFILE: 1\n",
            "services.app.ulimits.NOFILE",
            5,
        ),
        ("    ulimits: [nofile]\n", "services.app.ulimits", 4),
    ] {
        let e = bad(&format!("services:\n  app:\n    image: a\n{body}"));
        assert_eq!((e.field.as_str(), e.line), (field, line), "{body}: {e}");
    }
}

#[test]
fn extra_hosts_forms_become_host_colon_ip() {
    let s = svc(concat!(
        "    extra_hosts:\n",
        "      - \"somehost:162.242.195.82\"\n",
        "      - \"otherhost=50.31.209.229\"\n",
        "      - \"myhostv6=::1\"\n",
        "      - \"brackets=[::2]\"\n",
        "      - \"multi=10.0.0.1,10.0.0.2\"\n",
        "      - host.docker.internal:host-gateway\n",
    ));
    assert_eq!(
        s.runtime.extra_hosts,
        [
            "somehost:162.242.195.82",
            "otherhost:50.31.209.229",
            "myhostv6:::1",
            "brackets:::2",
            "multi:10.0.0.1",
            "multi:10.0.0.2",
            "host.docker.internal:host-gateway",
        ]
    );
    let s = svc(concat!(
        "    extra_hosts:\n",
        "      somehost: 162.242.195.82\n",
        "      myhostv6: \"::1\"\n",
        "      both: [\"10.0.0.1\", \"[::3]\"]\n",
    ));
    assert_eq!(
        s.runtime.extra_hosts,
        [
            "somehost:162.242.195.82",
            "myhostv6:::1",
            "both:10.0.0.1",
            "both:::3"
        ]
    );
    // The stored form reads back as itself.
    let spec = ServiceSpec {
        name: "a".into(),
        image: "a".into(),
        replicas: 1,
        runtime: RuntimeOptions {
            extra_hosts: s.runtime.extra_hosts.clone(),
            ..Default::default()
        },
        ..Default::default()
    };
    assert_eq!(ok(&export(std::slice::from_ref(&spec))).services, [spec]);
    for (body, field, line) in [
        (
            "    extra_hosts:\n      - nohost\n",
            "services.app.extra_hosts[0]",
            5,
        ),
        (
            "    extra_hosts:\n      - \"=1.2.3.4\"\n",
            "services.app.extra_hosts[0]",
            5,
        ),
        (
            "    extra_hosts:\n      - \"h:\"\n",
            "services.app.extra_hosts[0]",
            5,
        ),
        (
            "    extra_hosts:\n      h: \"\"\n",
            "services.app.extra_hosts.h",
            5,
        ),
        (
            "    extra_hosts: h:1.2.3.4\n",
            "services.app.extra_hosts",
            4,
        ),
    ] {
        let e = bad(&format!("services:\n  app:\n    image: a\n{body}"));
        assert_eq!((e.field.as_str(), e.line), (field, line), "{body}: {e}");
    }
}

#[test]
fn external_volumes_keep_their_own_name() {
    let i = ok(concat!(
        "services:\n",
        "  a:\n    image: a\n    volumes:\n      - shared:/shared\n      - legacy:/legacy:ro\n      - renamed:/renamed\n      - local:/local\n",
        "      - type: volume\n        source: shared\n        target: /again\n",
        "volumes:\n",
        "  shared:\n    external: true\n",
        "  legacy:\n    external:\n      name: old-data\n",
        "  renamed:\n    external: true\n    name: prod_media\n",
        "  local:\n    name: fixed-name\n    driver: local\n",
        "  unused:\n    external: false\n",
    ));
    let v: Vec<(&str, &str, bool, bool)> = i.services[0]
        .volumes
        .iter()
        .map(|v| {
            (
                v.source.as_str(),
                v.target.as_str(),
                v.read_only,
                v.external,
            )
        })
        .collect();
    assert_eq!(
        v,
        [
            ("shared", "/shared", false, true),
            ("old-data", "/legacy", true, true),
            ("prod_media", "/renamed", false, true),
            ("local", "/local", false, false),
            ("shared", "/again", false, true),
        ]
    );
    assert_eq!(
        i.named_volumes,
        ["local", "old-data", "prod_media", "shared", "unused"]
    );
    // A name for a volume Berth creates is not used; driver options as before.
    assert_eq!(
        notes(&i),
        [("volumes.local.driver", 23), ("volumes.local.name", 22)]
    );
    let e = bad("services:\n  a:\n    image: a\nvolumes:\n  v:\n    external: yes please\n");
    assert_eq!((e.field.as_str(), e.line), ("volumes.v.external", 6));
    let e =
        bad("services:\n  a:\n    image: a\nvolumes:\n  v:\n    external: true\n    name: /etc\n");
    assert_eq!((e.field.as_str(), e.line), ("volumes.v.name", 7));
}

#[test]
fn networks_one_per_environment() {
    // Internal only through every network it is on.
    let yaml = concat!(
        "services:\n",
        "  proxy:\n    image: caddy\n    networks: [edge]\n",
        "  app:\n    image: app\n    networks:\n      edge:\n      back:\n        aliases: [api]\n        ipv4_address: 172.16.0.10\n",
        "  db:\n    image: postgres\n    ports: [\"5432:5432\"]\n    networks:\n      - back\n      - data\n",
        "  lonely:\n    image: x\n    networks: [data]\n",
        "networks:\n",
        "  edge:\n    driver: bridge\n    external: true\n    name: traefik_proxy\n",
        "  back:\n    internal: true\n    ipam:\n      config:\n        - subnet: 172.16.0.0/24\n",
        "  data:\n    internal: true\n",
    );
    let i = ok(yaml);
    assert!(!find(&i, "proxy").internal);
    assert!(!find(&i, "app").internal, "also on edge");
    assert!(find(&i, "db").internal);
    assert!(find(&i, "lonely").internal);
    assert_eq!(
        notes(&i),
        [
            ("networks.edge.driver", 23),
            ("networks.edge.external", 24),
            ("networks.edge.name", 25),
            ("networks.back.ipam", 28),
            ("services.app.networks.back.aliases", 10),
            ("services.app.networks.back.ipv4_address", 11),
            ("networks.back.internal", 27),
            ("networks.data.internal", 32),
            ("services.db.ports", 14),
            ("networks", 21),
        ],
        "{:#?}",
        i.unsupported
    );
    assert!(i.unsupported[6].message.contains("`db`"));
    assert!(i.unsupported[7].message.contains("`db`, `lonely`"));
    assert!(i.unsupported[8].message.contains("never published"));
    // `proxy` (edge) and `db` (back, data) share no network; Berth joins them.
    assert!(
        i.unsupported[9].message.contains("`proxy` and `db`"),
        "{}",
        i.unsupported[9].message
    );
    assert!(i.unsupported[9].message.contains("one network"));

    // Services without `networks` are on `default`; declaring it internal makes them so.
    let i = ok("services:\n  a:\n    image: a\n  b:\n    image: b\n    networks: [default]\nnetworks:\n  default:\n    internal: true\n");
    assert!(i.services.iter().all(|s| s.internal));
    assert_eq!(notes(&i), [("networks.default.internal", 9)]);
    // One shared network, nothing internal: nothing to say.
    let i = ok("services:\n  a:\n    image: a\n    networks: [net]\n  b:\n    image: b\n    networks:\n      net:\nnetworks:\n  net:\n");
    assert!(i.services.iter().all(|s| !s.internal));
    assert!(i.unsupported.is_empty(), "{:?}", i.unsupported);

    let e = bad("services:\n  a:\n    image: a\n    networks: [nowhere]\n");
    assert_eq!((e.field.as_str(), e.line), ("services.a.networks[0]", 4));
    assert!(e.message.contains("`nowhere`"), "{e}");
    let e =
        bad("services:\n  a:\n    image: a\n    networks:\n      nowhere: {}\nnetworks:\n  net:\n");
    assert_eq!(
        (e.field.as_str(), e.line),
        ("services.a.networks.nowhere", 5)
    );
    let e = bad("services:\n  a:\n    image: a\nnetworks:\n  net:\n    internal: sure\n");
    assert_eq!((e.field.as_str(), e.line), ("networks.net.internal", 6));
    let e = bad("services:\n  a:\n    image: a\n    networks: net\n");
    assert_eq!((e.field.as_str(), e.line), ("services.a.networks", 4));
}

#[test]
fn internal_services_export_on_a_network_the_others_join() {
    let services = vec![
        ServiceSpec {
            name: "web".into(),
            image: "app".into(),
            replicas: 1,
            depends_on: vec![dep("db", Condition::ServiceHealthy)],
            ..Default::default()
        },
        ServiceSpec {
            name: "db".into(),
            image: "postgres".into(),
            replicas: 1,
            internal: true,
            ..Default::default()
        },
    ];
    let text = export(&services);
    assert!(
        text.contains("  web:\n    image: app\n    depends_on:\n      db:\n        condition: service_healthy\n    networks:\n    - default\n    - internal\n"),
        "{text}"
    );
    assert!(
        text.contains("  db:\n    image: postgres\n    networks:\n    - internal\n"),
        "{text}"
    );
    let back = ok(&text);
    assert_eq!(back.services, services);
    assert_eq!(notes(&back), [("networks.internal.internal", 22)], "{text}");
    // Without internal services, no networks at all.
    let plain = &services[..1];
    let text = export(&[ServiceSpec {
        depends_on: vec![],
        ..plain[0].clone()
    }]);
    assert!(!text.contains("networks"), "{text}");
}
