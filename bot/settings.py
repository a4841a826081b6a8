"""Every setting of spendbot, read once from the environment and `.env` (design.md section 2).

Settings are built in one place and passed down explicitly (never read from ``os.environ`` elsewhere),
so a test can build an app with a fake Slack URL and a temporary database in one line.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.domain.errors import SpendbotError
from bot.domain.people import PersonAliases


class RunMode(StrEnum):
    SOCKET = "socket"
    HTTP = "http"


class SettingsError(SpendbotError):
    """A setting is missing or invalid; the message is one readable line naming it."""


class Settings(BaseSettings):
    """The settings table of design.md section 2; the environment names are the contract."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        extra="ignore",
        validate_by_name=True,
        validate_by_alias=True,
        frozen=True,
    )

    slack_bot_token: SecretStr | None = Field(None, validation_alias=AliasChoices("SLACK_BOT_TOKEN"))
    slack_signing_secret: SecretStr | None = Field(
        None, validation_alias=AliasChoices("SLACK_SIGNING_SECRET")
    )
    slack_app_token: SecretStr | None = Field(None, validation_alias=AliasChoices("SLACK_APP_TOKEN"))
    slack_client_id: str | None = Field(None, validation_alias=AliasChoices("SLACK_CLIENT_ID"))
    slack_client_secret: SecretStr | None = Field(None, validation_alias=AliasChoices("SLACK_CLIENT_SECRET"))
    slack_api_url: str = Field("https://slack.com/api/", validation_alias=AliasChoices("SLACK_API_URL"))

    data_dir: Path = Field(Path("./data"), validation_alias=AliasChoices("SPENDBOT_DATA_DIR", "data_dir"))
    database_url: str = Field("", validation_alias=AliasChoices("DATABASE_URL", "database_url"))
    secret_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("SPENDBOT_SECRET_KEY", "secret_key")
    )
    admins: Annotated[tuple[str, ...], NoDecode] = Field(
        (), validation_alias=AliasChoices("SPENDBOT_ADMINS", "admins")
    )
    person_aliases: str = Field(
        "", validation_alias=AliasChoices("SPENDBOT_PERSON_ALIASES", "person_aliases")
    )
    people_visible_to: Literal["admins", "everyone"] = Field(
        "admins", validation_alias=AliasChoices("SPENDBOT_PEOPLE_VISIBLE_TO", "people_visible_to")
    )
    command: str = Field("/spend", validation_alias=AliasChoices("SPENDBOT_COMMAND", "command"))
    timezone: str = Field("UTC", validation_alias=AliasChoices("SPENDBOT_TIMEZONE", "timezone"))
    check_interval: int = Field(
        300, ge=10, validation_alias=AliasChoices("SPENDBOT_CHECK_INTERVAL", "check_interval")
    )
    sync_interval: int = Field(
        3600, ge=60, validation_alias=AliasChoices("SPENDBOT_SYNC_INTERVAL", "sync_interval")
    )
    remind_hours: float = Field(
        24, gt=0, validation_alias=AliasChoices("SPENDBOT_REMIND_HOURS", "remind_hours")
    )
    retention_days: int = Field(
        400, ge=31, validation_alias=AliasChoices("SPENDBOT_RETENTION_DAYS", "retention_days")
    )
    env_team_id: str | None = Field(
        None, validation_alias=AliasChoices("SPENDBOT_ENV_TEAM_ID", "env_team_id")
    )

    cursor_api_url: str = Field("https://api.cursor.com", validation_alias=AliasChoices("CURSOR_API_URL"))
    windsurf_api_url: str = Field(
        "https://server.codeium.com/api/v1", validation_alias=AliasChoices("WINDSURF_API_URL")
    )
    windsurf_requests_per_minute: int = Field(
        30, ge=1, le=10_000, validation_alias=AliasChoices("WINDSURF_REQUESTS_PER_MINUTE")
    )
    windsurf_credit_price: Decimal | None = Field(
        None, ge=0, validation_alias=AliasChoices("WINDSURF_CREDIT_PRICE")
    )
    # US dollars a seat costs a month, per seat-based tool: what `idle` says an unused seat wastes.
    cursor_seat_price: Decimal | None = Field(None, ge=0, validation_alias=AliasChoices("CURSOR_SEAT_PRICE"))
    windsurf_seat_price: Decimal | None = Field(
        None, ge=0, validation_alias=AliasChoices("WINDSURF_SEAT_PRICE")
    )
    copilot_seat_price: Decimal | None = Field(
        None, ge=0, validation_alias=AliasChoices("COPILOT_SEAT_PRICE")
    )
    openai_api_url: str = Field("https://api.openai.com/v1", validation_alias=AliasChoices("OPENAI_API_URL"))
    openai_requests_per_minute: int = Field(
        30, ge=1, le=10_000, validation_alias=AliasChoices("OPENAI_REQUESTS_PER_MINUTE")
    )
    anthropic_api_url: str = Field(
        "https://api.anthropic.com/v1", validation_alias=AliasChoices("ANTHROPIC_API_URL")
    )
    anthropic_requests_per_minute: int = Field(
        30, ge=1, le=10_000, validation_alias=AliasChoices("ANTHROPIC_REQUESTS_PER_MINUTE")
    )
    copilot_api_url: str = Field("https://api.github.com", validation_alias=AliasChoices("COPILOT_API_URL"))
    copilot_requests_per_hour: int = Field(
        5000, ge=1, le=15_000, validation_alias=AliasChoices("COPILOT_REQUESTS_PER_HOUR")
    )
    copilot_org: str | None = Field(None, validation_alias=AliasChoices("COPILOT_ORG"))
    copilot_enterprise: str | None = Field(None, validation_alias=AliasChoices("COPILOT_ENTERPRISE"))

    cursor_api_key: SecretStr | None = Field(None, validation_alias=AliasChoices("CURSOR_API_KEY"))
    windsurf_service_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("WINDSURF_SERVICE_KEY")
    )
    openai_admin_key: SecretStr | None = Field(None, validation_alias=AliasChoices("OPENAI_ADMIN_KEY"))
    anthropic_admin_key: SecretStr | None = Field(None, validation_alias=AliasChoices("ANTHROPIC_ADMIN_KEY"))
    copilot_token: SecretStr | None = Field(None, validation_alias=AliasChoices("COPILOT_TOKEN"))
    rest_api_url: str | None = Field(None, validation_alias=AliasChoices("REST_API_URL"))
    rest_api_key: SecretStr | None = Field(None, validation_alias=AliasChoices("REST_API_KEY"))
    rest_probe_path: str | None = Field(None, validation_alias=AliasChoices("REST_PROBE_PATH"))
    rest_per_minute: int | None = Field(None, ge=1, validation_alias=AliasChoices("REST_PER_MINUTE"))
    rest_per_day: int | None = Field(None, ge=1, validation_alias=AliasChoices("REST_PER_DAY"))
    rest_track: str | None = Field(None, validation_alias=AliasChoices("REST_TRACK"))

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", validation_alias=AliasChoices("LOG_LEVEL", "log_level")
    )
    log_format: Literal["console", "json"] = Field(
        "console", validation_alias=AliasChoices("LOG_FORMAT", "log_format")
    )

    @field_validator("admins", mode="before")
    @classmethod
    def _split_admins(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/Paris)") from None
        return value

    @field_validator("command")
    @classmethod
    def _slash(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith("/") or len(value) < 2 or " " in value or len(value) > 32:
            raise ValueError(f"{value!r} is not a slash command name such as /spend")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

    @field_validator("rest_track")
    @classmethod
    def _track_form(cls, value: str | None) -> str | None:
        if value is not None and (value.count("#") != 1 or not value.split("#")[1]):
            raise ValueError(f"{value!r} should look like PATH#json.field, e.g. /v1/usage#data.credits_left")
        return value

    @field_validator("person_aliases")
    @classmethod
    def _aliases_parse(cls, value: str) -> str:
        PersonAliases.parse(value)
        return value

    @property
    def aliases(self) -> PersonAliases:
        """``SPENDBOT_PERSON_ALIASES``, parsed (validated at startup)."""
        return PersonAliases.parse(self.person_aliases)

    @model_validator(mode="after")
    def _default_database(self) -> Settings:
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite:///{self.data_dir / 'spendbot.db'}")
        if (self.slack_client_id is None) != (self.slack_client_secret is None):
            raise ValueError("SLACK_CLIENT_ID and SLACK_CLIENT_SECRET must be set together")
        if self.rest_api_key is not None and not self.rest_api_url:
            raise ValueError("REST_API_URL is required when REST_API_KEY is set")
        if self.copilot_token is not None and bool(self.copilot_org) == bool(self.copilot_enterprise):
            raise ValueError("COPILOT_TOKEN needs exactly one of COPILOT_ORG and COPILOT_ENTERPRISE")
        return self

    @property
    def copilot_account(self) -> str:
        """The declared Copilot connection's account: the organization, or ``enterprise:<slug>``."""
        if self.copilot_enterprise:
            return f"enterprise:{self.copilot_enterprise}"
        return self.copilot_org or ""

    @property
    def is_postgres(self) -> bool:
        return self.database_url.split(":", 1)[0].startswith("postgres")

    @property
    def oauth_enabled(self) -> bool:
        return self.slack_client_id is not None and self.slack_client_secret is not None

    @property
    def default_zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def run_mode(self, requested: RunMode | None = None) -> RunMode:
        """Socket Mode when an app token is set (unless HTTP is asked for), else HTTP."""
        if requested is not None:
            return requested
        return RunMode.SOCKET if self.slack_app_token is not None else RunMode.HTTP

    def problems_for_run(self, mode: RunMode) -> list[str]:
        """What is missing to serve Slack in ``mode``; each item is one readable line."""
        problems: list[str] = []
        if mode is RunMode.SOCKET:
            if self.slack_app_token is None:
                problems.append("SLACK_APP_TOKEN is required in Socket Mode")
            if self.slack_bot_token is None:
                problems.append("SLACK_BOT_TOKEN is required in Socket Mode")
            if self.oauth_enabled:
                problems.append(
                    "OAuth (SLACK_CLIENT_ID) needs HTTP mode: unset SLACK_APP_TOKEN or use --mode http"
                )
        else:
            if self.slack_signing_secret is None:
                problems.append("SLACK_SIGNING_SECRET is required in HTTP mode")
            if self.slack_bot_token is None and not self.oauth_enabled:
                problems.append(
                    "SLACK_BOT_TOKEN is required in HTTP mode "
                    "(or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET for OAuth)"
                )
        if self.is_postgres and self.secret_key is None:
            problems.append("SPENDBOT_SECRET_KEY is required with PostgreSQL, so every replica shares it")
        if self.oauth_enabled and self.env_team_id is None and self._has_env_connections():
            problems.append(
                "SPENDBOT_ENV_TEAM_ID is required under OAuth when connections are declared "
                "in the environment"
            )
        return problems

    def _has_env_connections(self) -> bool:
        return any(
            key is not None
            for key in (
                self.cursor_api_key,
                self.windsurf_service_key,
                self.openai_admin_key,
                self.anthropic_admin_key,
                self.copilot_token,
                self.rest_api_key,
            )
        )


def describe_validation_error(error: ValidationError) -> str:
    """One readable line for a pydantic error: which setting, and what is wrong with it."""
    parts: list[str] = []
    for item in error.errors(include_url=False):
        location = item.get("loc") or ()
        name = _env_name(str(location[0])) if location else ""
        message = str(item.get("msg", "invalid")).removeprefix("Value error, ")
        given = item.get("input")
        shown = ""
        if name and isinstance(given, str | int | float) and not _is_secret_name(name):
            shown = f" (got {given!r})"
        parts.append(f"{name}: {message}{shown}" if name else message)
    return "; ".join(parts)


def _env_name(field_or_alias: str) -> str:
    field = Settings.model_fields.get(field_or_alias)
    if field is not None and isinstance(field.validation_alias, AliasChoices):
        first = field.validation_alias.choices[0]
        return str(first)
    return field_or_alias.upper()


def _is_secret_name(name: str) -> bool:
    return any(word in name for word in ("TOKEN", "SECRET", "KEY"))


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, turning any validation problem into a one-line :class:`SettingsError`."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise SettingsError(describe_validation_error(error)) from None
