#!/usr/bin/env python3
"""The engine's Django project for tests/test_real_engine.py: bamboo's apps
(from BAMBOO_ENGINE_SRC, put on sys.path by the test) on the test's private
MariaDB, RabbitMQ and Redis (settings from the environment)."""
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opn_engine.settings")
    from django.core.management import execute_from_command_line
    execute_from_command_line(sys.argv)
