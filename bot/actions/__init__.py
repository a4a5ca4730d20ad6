"""Custom actions of the Atende bot (rasa-sdk); they call the atende library."""
