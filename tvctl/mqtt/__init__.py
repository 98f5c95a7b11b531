"""The MQTT bridge: Home Assistant discovery, retained state and commands on a broker
(``bridge``), the topics (``topics``), the discovery configs (``discovery``) and the commands'
words (``commands``)."""
