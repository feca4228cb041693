"""Stream-processing applications (PyFlink) for Managed Service for Apache Flink."""
