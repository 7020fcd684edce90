"""The building blocks of the ``AxonCore`` stack, one construct per concern."""
