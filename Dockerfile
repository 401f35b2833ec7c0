FROM python:3.11-slim

RUN useradd --system --home-dir /var/lib/nordpass-agent --create-home nordpass
WORKDIR /opt/nordpass-agent
COPY pyproject.toml README.md ./
COPY agent ./agent
COPY connectors ./connectors
RUN pip install --no-cache-dir .

USER nordpass
VOLUME ["/var/lib/nordpass-agent"]
ENV NORDPASS_AGENT_CONFIG=/etc/nordpass-agent/agent.yaml \
    NORDPASS_AGENT_LOG_FORMAT=json
ENTRYPOINT ["nordpass-agent"]
CMD ["run"]
