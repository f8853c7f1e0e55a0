# Ferry's native content pass (see src/binding.c). Built by `npm ci` through the
# root package's install script, against the headers of the Node that runs it
# (deploy/setup.sh sets npm_config_nodedir). OpenSSL and zstd are not linked:
# the addon calls the copies inside the node binary, which exports them.
{
  'targets': [
    {
      'target_name': 'ferry_content',
      'sources': [
        'src/binding.c', 'src/async_task.c', 'src/ops.c', 'src/napi_args.c', 'src/cdc.c', 'src/blob_id.c', 'src/quickxor.c',
        'src/blob_seal.c', 'src/slots.c', 'src/file_io.c', 'src/known_filter.c', 'src/tasks.c', 'src/stat_batch.c', 'src/task_nice.c',
      ],
      'defines': ['NAPI_VERSION=8', 'OPENSSL_SUPPRESS_DEPRECATED'],
      'cflags': ['-O3', '-std=gnu11', '-fvisibility=hidden', '-Wall', '-Wextra', '-Wno-unused-parameter'],
      'cflags!': ['-O2'],
      'ldflags': ['-Wl,-z,noexecstack', '-Wl,-z,relro', '-Wl,-z,now'],
    },
  ],
}
